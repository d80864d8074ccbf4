/** Every bad licensing file of the issue, each expecting its own code from verifyRecord(). */
import assert from "node:assert/strict";
import { isNxError } from "../errors.ts";
import { encodeCanonical } from "./_canonical.ts";
import {
  change,
  DEVICE_FP,
  NON_CANONICAL,
  OTHER_DEVICE_FP,
  PUBLISHER_IDS,
  PUBLISHER_SEED,
  ROGUE_SEED,
  STORE_KEYS,
  STORE_SEED,
  T0,
  throwsCode,
  token,
  YEAR,
} from "./_helpers_test.ts";
import {
  decodeSignedRecord,
  encodeEntitlement,
  encodeSignedRecord,
  issueEntitlement,
  issueRecord,
  issueStatusChange,
  keyIdOfSeed,
  RECORD_MAX_BYTES,
  tokenId,
  verifyRecord,
  type VerifyRecordOptions,
} from "./mod.ts";

const OPTS: VerifyRecordOptions = {
  storeKeys: STORE_KEYS,
  publisherKeyIds: PUBLISHER_IDS,
  deviceFp: DEVICE_FP,
};
const verify = (bytes: Uint8Array, over: Partial<VerifyRecordOptions> = {}) => () =>
  void verifyRecord(bytes, { ...OPTS, ...over });
const GOOD = issueEntitlement(token(), STORE_SEED);

/** Where `part` of the decoded outer record starts inside the file bytes. */
function offsetOf(file: Uint8Array, part: Uint8Array): number {
  for (let i = 0; i + part.length <= file.length; i++) {
    if (part.every((b, k) => file[i + k] === b)) return i;
  }
  throw new Error("part not found");
}

function flipped(file: Uint8Array, at: number): Uint8Array {
  const out = file.slice();
  out[at] ^= 0x01;
  return out;
}

Deno.test("verifyRecord() accepts a token of a trusted store for this device", () => {
  const r = verifyRecord(GOOD, { ...OPTS, now: T0 });
  assert.equal(r.kind, "entitlement");
  if (r.kind !== "entitlement") return;
  assert.deepEqual(r.token, token());
  assert.equal(r.tokenId, tokenId(encodeEntitlement(token())));
  assert.equal(r.keyId, keyIdOfSeed(STORE_SEED));
});

Deno.test("verifyRecord() refuses a token with one flipped byte", async (t) => {
  const outer = decodeSignedRecord(GOOD);
  const body = offsetOf(GOOD, outer.body);
  // The first byte of the app id's text ("ledger" → "mdger"): a well-formed, altered body.
  const appIdAt = body + offsetOf(outer.body, new TextEncoder().encode("ledger\0"));
  await t.step(
    "in the body",
    () => void throwsCode(verify(flipped(GOOD, appIdAt)), "entitlement.bad_signature"),
  );
  const sigAt = offsetOf(GOOD, outer.signature);
  await t.step(
    "in the signature",
    () => void throwsCode(verify(flipped(GOOD, sigAt + 5)), "entitlement.bad_signature"),
  );
  const keyAt = offsetOf(
    GOOD,
    new Uint8Array(outer.keyId.match(/../g)!.map((h) => parseInt(h, 16))),
  );
  await t.step(
    "in the key id",
    () => void throwsCode(verify(flipped(GOOD, keyAt)), "entitlement.untrusted_key"),
  );
  await t.step("anywhere: never accepted", () => {
    const allowed = new Set([
      "entitlement.malformed",
      "entitlement.bad_signature",
      "entitlement.untrusted_key",
    ]);
    for (let at = 0; at < GOOD.length; at++) {
      try {
        verifyRecord(flipped(GOOD, at), OPTS);
        assert.fail(`a flip at byte ${at} was accepted`);
      } catch (e) {
        if (!isNxError(e)) throw e;
        assert.ok(allowed.has(e.code), `byte ${at}: ${e.code}`);
      }
    }
  });
});

Deno.test("verifyRecord() refuses a token signed by an untrusted key", () => {
  const e = throwsCode(verify(issueEntitlement(token(), ROGUE_SEED)), "entitlement.untrusted_key");
  assert.equal(e.details?.keyId, keyIdOfSeed(ROGUE_SEED));
  assert.equal(e.details?.publisherKey, false);
  assert.ok(e.hint);
});

Deno.test("verifyRecord() refuses a token signed by a bundle publisher's key", () => {
  const e = throwsCode(
    verify(issueEntitlement(token(), PUBLISHER_SEED)),
    "entitlement.untrusted_key",
  );
  assert.equal(e.details?.publisherKey, true);
  assert.equal(e.details?.appId, "ledger");
});

Deno.test("verifyRecord() refuses a store key whose id does not match its public key", () => {
  const swapped = new Map([[
    keyIdOfSeed(STORE_SEED),
    STORE_KEYS.get(keyIdOfSeed(PUBLISHER_SEED)) ?? new Uint8Array(32),
  ]]);
  throwsCode(verify(GOOD, { storeKeys: swapped }), "entitlement.untrusted_key");
});

Deno.test("verifyRecord() refuses a token for another device or audience", () => {
  const device = throwsCode(
    verify(issueEntitlement(token({ deviceFp: OTHER_DEVICE_FP }), STORE_SEED)),
    "entitlement.wrong_device",
  );
  assert.equal(device.details?.expected, DEVICE_FP);
  throwsCode(
    verify(issueEntitlement(token({ audience: "nx.other" }), STORE_SEED)),
    "entitlement.wrong_audience",
  );
  throwsCode(verify(GOOD, { audience: "nx.agent" }), "entitlement.wrong_audience");
});

Deno.test("verifyRecord() with now refuses an expired token and keeps a not-yet-valid one", () => {
  throwsCode(verify(GOOD, { now: T0 + YEAR }), "entitlement.expired");
  const later = issueEntitlement(token({ nbf: T0 + 10, exp: T0 + 20 }), STORE_SEED);
  assert.equal(verifyRecord(later, { ...OPTS, now: T0 }).kind, "entitlement");
});

Deno.test("verifyRecord() refuses a store-signed token with exp before nbf", () => {
  const body = new Uint8Array(encodeEntitlement(token()));
  const view = new DataView(body.buffer);
  view.setBigInt64(8 + 8 + 16, BigInt(T0 + 1), true); // nbf (data word 2) after exp
  view.setBigInt64(8 + 8 + 24, BigInt(T0), true); // exp (data word 3)
  throwsCode(verify(issueRecord("entitlement", body, STORE_SEED)), "entitlement.malformed");
});

Deno.test("verifyRecord() refuses non-canonical encodings of a valid token", async (t) => {
  const body = encodeEntitlement(token());
  for (const [name, rewrite] of Object.entries(NON_CANONICAL)) {
    await t.step(
      `store-signed body with ${name}`,
      () =>
        void throwsCode(
          verify(issueRecord("entitlement", rewrite(body), STORE_SEED)),
          "entitlement.malformed",
        ),
    );
    await t.step(
      `file with ${name}`,
      () => void throwsCode(verify(rewrite(GOOD)), "entitlement.malformed"),
    );
  }
});

Deno.test("verifyRecord() refuses a record whose kind does not match its body", () => {
  const statusBody =
    decodeSignedRecord(issueStatusChange(change("ab".repeat(32)), STORE_SEED)).body;
  throwsCode(verify(issueRecord("entitlement", statusBody, STORE_SEED)), "entitlement.malformed");
  const outer = decodeSignedRecord(GOOD);
  throwsCode(
    verify(encodeSignedRecord({ ...outer, kind: "statusChange" })),
    "entitlement.malformed",
  );
});

Deno.test("verifyRecord() checks a status change's signer", () => {
  const id = tokenId(encodeEntitlement(token()));
  const good = verifyRecord(issueStatusChange(change(id), STORE_SEED), OPTS);
  assert.equal(good.kind, "statusChange");
  throwsCode(verify(issueStatusChange(change(id), ROGUE_SEED)), "entitlement.untrusted_key");
  throwsCode(verify(issueStatusChange(change(id), PUBLISHER_SEED)), "entitlement.untrusted_key");
});

Deno.test("verifyRecord() refuses malformed and oversized files", async (t) => {
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "entitlement.malformed"],
    ["text", new TextEncoder().encode("-----BEGIN TOKEN-----\n"), "entitlement.malformed"],
    ["truncated", GOOD.subarray(0, GOOD.length - 8), "entitlement.malformed"],
    [
      "an empty root struct",
      encodeCanonical({ data: new Uint8Array(0), ptrs: [] }),
      "entitlement.malformed",
    ],
    ["one byte over 16 KiB", new Uint8Array(RECORD_MAX_BYTES + 1), "entitlement.too_large"],
    ["1 MiB", new Uint8Array(1 << 20), "entitlement.too_large"],
  ];
  for (const [name, bytes, code] of cases) {
    await t.step(name, () => void throwsCode(verify(bytes), code));
  }
});
