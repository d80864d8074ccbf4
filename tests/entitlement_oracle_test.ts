/**
 * The reference `capnp` tool (Debian capnproto) as an independent oracle for the licensing
 * records (core/entitlement, fixtures/schema/licensing.capnp): its canonicalization of our bytes
 * is our bytes, it reads the same field values, what it encodes we decode, and the
 * non-canonical rewrites the unit tests refuse are valid encodings it canonicalizes back to ours.
 * The project setup installs capnp; only when it is absent are these tests ignored.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { toHex } from "../core/bytes/mod.ts";
import {
  decodeEntitlement,
  decodeSignedRecord,
  decodeStatusChange,
  encodeEntitlement,
  encodeStatusChange,
  type Entitlement,
  issueEntitlement,
  issueStatusChange,
  type StatusChange,
  tokenId,
} from "../core/entitlement/mod.ts";
import { change, NON_CANONICAL, STORE_SEED, token } from "../core/entitlement/_helpers_test.ts";

const SCHEMA = fileURLToPath(new URL("../fixtures/schema/licensing.capnp", import.meta.url));
const HAVE_CAPNP = await new Deno.Command("capnp", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);
const ignore = !HAVE_CAPNP;
if (ignore) console.error("capnp is not on PATH (Debian package capnproto): oracle tests ignored");

async function capnp(args: string[], input: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("capnp", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    throw new Error(`capnp ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** capnp's canonical form: one segment, no segment table. */
const canonical = (bytes: Uint8Array) => capnp(["convert", "--quiet", "binary:canonical"], bytes);
const json = async (bytes: Uint8Array, type: string) =>
  JSON.parse(
    new TextDecoder().decode(await capnp(["convert", "binary:json", SCHEMA, type], bytes)),
  );
const text = async (bytes: Uint8Array, type: string) =>
  new TextDecoder().decode(await capnp(["decode", "--short", SCHEMA, type], bytes));

/** Our framed single-segment message without its 8-byte segment table. */
function segmentOf(message: Uint8Array): Uint8Array {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  assert.equal(view.getUint32(0, true), 0, "one segment");
  assert.equal(view.getUint32(4, true) * 8, message.length - 8, "the table gives the size");
  return message.subarray(8);
}

/** A flat canonical segment framed the way our records are. */
function framed(segment: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + segment.length);
  new DataView(out.buffer).setUint32(4, segment.length / 8, true);
  out.set(segment, 8);
  return out;
}

const TOKENS: Entitlement[] = [
  token(),
  token({ type: "trial", sku: "ledger.trial", meta: [] }),
  token({ iat: -1, nbf: -100, exp: 0, meta: [{ key: "a", value: "" }] }),
];
const CHANGES: StatusChange[] = [
  change("ab".repeat(32)),
  change("cd".repeat(32), { action: "restore", serial: 0, reason: "" }),
];

const expectedJson = (e: Entitlement) => ({
  ...e,
  deviceFp: [...e.deviceFp.matchAll(/../g)].map((m) => parseInt(m[0], 16)),
  iat: String(e.iat),
  nbf: String(e.nbf),
  exp: String(e.exp),
  ...(e.meta.length ? {} : { meta: undefined }),
});

Deno.test({
  name: "capnp canonicalizes our records to the same bytes",
  ignore,
  fn: async () => {
    const messages = [
      ...TOKENS.flatMap((t) => [encodeEntitlement(t), issueEntitlement(t, STORE_SEED)]),
      ...CHANGES.flatMap((c) => [encodeStatusChange(c), issueStatusChange(c, STORE_SEED)]),
    ];
    for (const m of messages) assert.deepEqual(await canonical(m), segmentOf(m));
  },
});

Deno.test({
  name: "capnp reads the same field values from our records",
  ignore,
  fn: async () => {
    for (const t of TOKENS) {
      const file = issueEntitlement(t, STORE_SEED);
      const outer = await json(file, "SignedRecord");
      assert.equal(outer.kind, "entitlement");
      const body = new Uint8Array(outer.body);
      assert.equal(tokenId(body), tokenId(encodeEntitlement(t)));
      const got = await json(body, "Entitlement");
      assert.deepEqual(
        JSON.parse(JSON.stringify(got)),
        JSON.parse(JSON.stringify(expectedJson(t))),
      );
      const shown = await text(body, "Entitlement");
      for (
        const part of [
          `appId = "${t.appId}"`,
          `sku = "${t.sku}"`,
          `type = ${t.type}`,
          `exp = ${t.exp}`,
        ]
      ) {
        assert.ok(shown.includes(part), `${part} in ${shown}`);
      }
      assert.equal(toHex(new Uint8Array(outer.keyId)), decodeSignedRecord(file).keyId);
    }
    for (const c of CHANGES) {
      const outer = await json(issueStatusChange(c, STORE_SEED), "SignedRecord");
      assert.equal(outer.kind, "statusChange");
      const got = await json(new Uint8Array(outer.body), "StatusChange");
      assert.equal(toHex(new Uint8Array(got.tokenId)), c.tokenId);
      assert.deepEqual(
        [got.action, got.issuedAt, got.serial ?? "0", got.appId, got.sku, got.reason],
        [c.action, String(c.issuedAt), String(c.serial), c.appId, c.sku, c.reason],
      );
    }
  },
});

Deno.test({
  name: "what capnp encodes (then canonicalizes) our strict decoder reads",
  ignore,
  fn: async () => {
    const t = token();
    const literal = `(version = 1, appId = "ledger", sku = "ledger.pro", type = full, ` +
      `deviceFp = 0x"${t.deviceFp}", audience = "${t.audience}", iat = ${t.iat}, nbf = ${t.nbf}, ` +
      `exp = ${t.exp}, meta = [(key = "order", value = "42"), (key = "store", value = "nx-dev-store")])`;
    const encoded = await capnp(
      ["encode", SCHEMA, "Entitlement"],
      new TextEncoder().encode(literal),
    );
    assert.deepEqual(decodeEntitlement(framed(await canonical(encoded))), t);
    const c = CHANGES[1];
    const sc =
      `(version = 1, tokenId = 0x"${c.tokenId}", action = restore, issuedAt = ${c.issuedAt}, ` +
      `appId = "${c.appId}", sku = "${c.sku}", reason = "")`;
    const scBytes = await capnp(["encode", SCHEMA, "StatusChange"], new TextEncoder().encode(sc));
    assert.deepEqual(decodeStatusChange(framed(await canonical(scBytes))), c);
  },
});

Deno.test({
  name: "the non-canonical rewrites are valid encodings capnp canonicalizes back to ours",
  ignore,
  fn: async (ctx) => {
    const body = encodeEntitlement(token());
    const file = issueEntitlement(token(), STORE_SEED);
    for (const [name, rewrite] of Object.entries(NON_CANONICAL)) {
      await ctx.step(name, async () => {
        assert.deepEqual(await canonical(rewrite(body)), segmentOf(body));
        assert.deepEqual(await canonical(rewrite(file)), segmentOf(file));
      });
    }
  },
});
