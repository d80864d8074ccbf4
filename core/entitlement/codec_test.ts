import assert from "node:assert/strict";
import { fromHex } from "../bytes/mod.ts";
import { encodeCanonical, type PtrValue, type StructValue, textBytes } from "./_canonical.ts";
import { change, NON_CANONICAL, T0, throwsCode, token } from "./_helpers_test.ts";
import {
  decodeEntitlement,
  decodeSignedRecord,
  decodeStatusChange,
  encodeEntitlement,
  encodeSignedRecord,
  encodeStatusChange,
  type Entitlement,
} from "./mod.ts";

const MALFORMED = "entitlement.malformed";
const TOKEN_ID = "ab".repeat(32);

/** A token laid out by hand from the schema (licensing.capnp), with no field checks. */
function rawEntitlement(
  e: Entitlement,
  over: { type?: number; deviceFp?: Uint8Array; appId?: PtrValue } = {},
): Uint8Array {
  const data = new Uint8Array(32);
  const v = new DataView(data.buffer);
  v.setUint16(0, e.version, true);
  v.setUint16(2, over.type ?? (e.type === "full" ? 0 : 1), true);
  v.setBigInt64(8, BigInt(e.iat), true);
  v.setBigInt64(16, BigInt(e.nbf), true);
  v.setBigInt64(24, BigInt(e.exp), true);
  const meta: StructValue[] = e.meta.map((m) => ({
    data: new Uint8Array(0),
    ptrs: [{ text: m.key }, { text: m.value }],
  }));
  return encodeCanonical({
    data,
    ptrs: [
      over.appId === undefined ? { text: e.appId } : over.appId,
      { text: e.sku },
      { bytes: over.deviceFp ?? fromHex(e.deviceFp) },
      { text: e.audience },
      meta.length ? { structs: meta } : null,
    ],
  });
}

Deno.test("encodeEntitlement() and decodeEntitlement() round-trip every field", () => {
  for (
    const t of [token(), token({ type: "trial", meta: [] }), token({ iat: -5, nbf: -5, exp: 0 })]
  ) {
    const bytes = encodeEntitlement(t);
    assert.deepEqual(decodeEntitlement(bytes), t);
    assert.deepEqual(
      bytes,
      rawEntitlement(t),
      "the hand layout of the schema gives the same bytes",
    );
  }
});

Deno.test("encodeStatusChange() round-trips, truncating a zero serial's data word", () => {
  const withSerial = encodeStatusChange(change(TOKEN_ID));
  const zeroSerial = encodeStatusChange(change(TOKEN_ID, { serial: 0, action: "restore" }));
  assert.deepEqual(decodeStatusChange(withSerial), change(TOKEN_ID));
  assert.deepEqual(
    decodeStatusChange(zeroSerial),
    change(TOKEN_ID, { serial: 0, action: "restore" }),
  );
  // Root pointer word (after the 8-byte segment table): data words in bytes 4..6.
  assert.equal(new DataView(withSerial.buffer).getUint16(12, true), 3);
  assert.equal(new DataView(zeroSerial.buffer).getUint16(12, true), 2);
});

Deno.test("encodeSignedRecord() writes no data word for kind entitlement (ordinal 0)", () => {
  const rec = {
    body: encodeEntitlement(token()),
    keyId: "cd".repeat(16),
    signature: new Uint8Array(64).fill(7),
  };
  const ent = encodeSignedRecord({ kind: "entitlement", ...rec });
  const sc = encodeSignedRecord({ kind: "statusChange", ...rec });
  assert.equal(new DataView(ent.buffer).getUint16(12, true), 0);
  assert.equal(new DataView(sc.buffer).getUint16(12, true), 1);
  assert.deepEqual(decodeSignedRecord(ent), { kind: "entitlement", ...rec });
  assert.deepEqual(decodeSignedRecord(sc), { kind: "statusChange", ...rec });
});

Deno.test("encodeEntitlement() refuses fields the format does not allow", async (t) => {
  const cases: [string, Partial<Entitlement>][] = [
    ["exp before nbf", { nbf: T0 + 10, exp: T0 }],
    ["exp equal to nbf", { exp: T0 }],
    ["unsorted meta keys", { meta: [{ key: "b", value: "" }, { key: "a", value: "" }] }],
    ["duplicate meta keys", { meta: [{ key: "a", value: "1" }, { key: "a", value: "2" }] }],
    ["17 meta entries", {
      meta: Array.from({ length: 17 }, (_, i) => ({ key: `k${i + 10}`, value: "" })),
    }],
    ["a meta value over 256 bytes", { meta: [{ key: "a", value: "x".repeat(257) }] }],
    ["a bad sku", { sku: "has space" }],
    ["a bad app id", { appId: "Ledger" }],
    ["a short device fingerprint", { deviceFp: "00ff" }],
    ["a fractional time", { iat: 1.5 }],
    ["an unsafe time", { exp: 2 ** 60 }],
    ["version 2", { version: 2 }],
    ["an unknown type", { type: "lifetime" as "full" }],
  ];
  for (const [name, over] of cases) {
    await t.step(name, () => void throwsCode(() => encodeEntitlement(token(over)), MALFORMED));
  }
});

Deno.test("decodeEntitlement() refuses hand-built bodies that break a rule", async (t) => {
  const cases: [string, Uint8Array][] = [
    ["exp before nbf", rawEntitlement(token({ nbf: T0 + 10, exp: T0 }))],
    [
      "unsorted meta",
      rawEntitlement(token({ meta: [{ key: "b", value: "" }, { key: "a", value: "" }] })),
    ],
    ["an unknown token type", rawEntitlement(token(), { type: 2 })],
    ["a 15-byte device fingerprint", rawEntitlement(token(), { deviceFp: new Uint8Array(15) })],
    ["a missing app id", rawEntitlement(token(), { appId: null })],
    [
      "app id as Data without NUL",
      rawEntitlement(token(), { appId: { bytes: textBytes("ledger").subarray(0, 6) } }),
    ],
    ["version 2", rawEntitlement(token({ version: 2 }))],
    ["empty input", new Uint8Array(0)],
    ["a segment table only", new Uint8Array(8)],
    ["trailing bytes", new Uint8Array([...encodeEntitlement(token()), 0, 0, 0, 0])],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => void throwsCode(() => decodeEntitlement(bytes), MALFORMED));
  }
});

Deno.test("decode*() refuses every non-canonical encoding of valid values", async (t) => {
  const messages: [string, Uint8Array, (b: Uint8Array) => unknown][] = [
    ["Entitlement", encodeEntitlement(token()), decodeEntitlement],
    ["StatusChange", encodeStatusChange(change(TOKEN_ID)), decodeStatusChange],
    [
      "SignedRecord",
      encodeSignedRecord({
        kind: "entitlement",
        body: encodeEntitlement(token()),
        keyId: "cd".repeat(16),
        signature: new Uint8Array(64).fill(7),
      }),
      decodeSignedRecord,
    ],
  ];
  for (const [type, canonical, decode] of messages) {
    decode(canonical);
    for (const [name, rewrite] of Object.entries(NON_CANONICAL)) {
      await t.step(
        `${type}: ${name}`,
        () => void throwsCode(() => decode(rewrite(canonical)), MALFORMED),
      );
    }
  }
});
