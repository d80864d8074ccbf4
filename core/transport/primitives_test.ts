/**
 * Project Wycheproof's X25519, HKDF-SHA-256 and HMAC-SHA-256 vectors through the very WebCrypto
 * calls the handshake and the channel make (x25519Shared, hkdfSha256, importMacKey with
 * crypto.subtle.sign/verify), so the behaviour of the runtime's primitives is pinned. The files
 * are pinned copies in tests/vectors/wycheproof/ (Apache-2.0, LICENSE beside them); a missing or
 * changed file fails, never skips.
 *
 * X25519: every vector with a non-zero shared secret, "acceptable" ones included (twist points,
 * non-canonical u ≥ p, the high bit set: RFC 7748 §5 masks it), must give exactly the expected
 * secret. Every vector whose shared secret is all zero (a low-order public key) must be refused:
 * WebCrypto's deriveBits throws OperationError itself, and x25519Shared turns that (or a zero
 * result, should a runtime ever return one) into transport.unauthenticated.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import type { Bytes } from "./frame.ts";
import { importMacKey } from "./channel.ts";
import { hkdfSha256, x25519Shared } from "./kex.ts";

const DIR = new URL("../../tests/vectors/wycheproof/", import.meta.url);
const PINNED: Record<string, string> = {
  "x25519_test.json": "35c3f5231cf25cc640b524d403461deee9e49441d5d915a3a25b2c8ff5adbe7d",
  "hkdf_sha256_test.json": "bb2b462a38b251cb52a2aede706d6d4b62b26864f4e80c95497507ddb07c5f1e",
  "hmac_sha256_test.json": "2d201cfa61d1bf95e6f5d07d96634b4a348b31e8eaa277ad7c8d09677b7a743f",
};

interface VectorFile<T> {
  numberOfTests: number;
  testGroups: ({ tests: T[] } & Record<string, unknown>)[];
}

async function load<T>(name: string): Promise<{ file: VectorFile<T>; tests: T[] }> {
  const bytes = await Deno.readFile(new URL(name, DIR)); // NotFound fails the test
  assert.equal(createHash("sha256").update(bytes).digest("hex"), PINNED[name], `${name} changed`);
  const file: VectorFile<T> = JSON.parse(new TextDecoder().decode(bytes));
  const tests = file.testGroups.flatMap((g) => g.tests);
  assert.equal(tests.length, file.numberOfTests);
  return { file, tests };
}

const hex = (s: string) => fromHex(s) as Bytes;
const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;

interface XdhVector {
  tcId: number;
  public: string;
  private: string;
  shared: string;
  result: "valid" | "acceptable" | "invalid";
  flags: string[];
}

/** WebCrypto imports a raw X25519 private key only inside PKCS#8 (RFC 8410). */
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");

function x25519Private(raw: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "pkcs8",
    new Uint8Array([...X25519_PKCS8, ...fromHex(raw)]),
    { name: "X25519" },
    false,
    ["deriveBits"],
  );
}

Deno.test("x25519Shared() gives Wycheproof's shared secret and refuses every all-zero one", async () => {
  const { tests } = await load<XdhVector>("x25519_test.json");
  let zero = 0;
  for (const v of tests) {
    assert.notEqual(
      v.result,
      "invalid",
      `tcId ${v.tcId}: an invalid X25519 vector needs a verdict`,
    );
    const priv = await x25519Private(v.private);
    if (/^(00)+$/.test(v.shared)) {
      zero++;
      await assert.rejects(
        x25519Shared(priv, hex(v.public)),
        code("transport.unauthenticated"),
        `tcId ${v.tcId}`,
      );
      // the runtime refuses on its own (Secure Curves: all-zero output is an OperationError)
      const pub = await crypto.subtle.importKey(
        "raw",
        hex(v.public),
        { name: "X25519" },
        false,
        [],
      );
      await assert.rejects(
        crypto.subtle.deriveBits({ name: "X25519", public: pub }, priv, 256),
        (e: unknown) => e instanceof DOMException && e.name === "OperationError",
      );
    } else {
      assert.equal(toHex(await x25519Shared(priv, hex(v.public))), v.shared, `tcId ${v.tcId}`);
    }
  }
  assert.equal(zero, 31); // this file's ZeroSharedSecret vectors
});

interface HkdfVector {
  tcId: number;
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
  result: "valid" | "invalid";
}

Deno.test("hkdfSha256() gives Wycheproof's output and refuses an over-long one", async () => {
  const { tests } = await load<HkdfVector>("hkdf_sha256_test.json");
  for (const v of tests) {
    const run = () => hkdfSha256(hex(v.ikm), hex(v.salt), hex(v.info), v.size);
    if (v.result === "valid") {
      assert.equal(toHex(await run()), v.okm, `tcId ${v.tcId}`);
    } else {
      assert.ok(v.size > 255 * 32, `tcId ${v.tcId}: only SizeTooLarge is invalid`);
      await assert.rejects(run(), `tcId ${v.tcId}`);
    }
  }
});

interface MacVector {
  tcId: number;
  key: string;
  msg: string;
  tag: string;
  result: "valid" | "invalid";
}

Deno.test("HMAC-SHA-256 as the channel keys it matches Wycheproof's tags", async () => {
  const { file } = await load<MacVector>("hmac_sha256_test.json");
  let full = 0;
  for (const group of file.testGroups) {
    const tagBytes = (group.tagSize as number) / 8;
    for (const v of group.tests) {
      const signer = await importMacKey(hex(v.key), "sign");
      const tag = new Uint8Array(await crypto.subtle.sign("HMAC", signer, hex(v.msg)));
      assert.equal(
        toHex(tag.subarray(0, tagBytes)) === v.tag,
        v.result === "valid",
        `tcId ${v.tcId}`,
      );
      if (tagBytes !== 32) continue;
      // the channel's receive side: verify with the full 32-byte tag (constant time)
      full++;
      const verifier = await importMacKey(hex(v.key), "verify");
      assert.equal(
        await crypto.subtle.verify("HMAC", verifier, hex(v.tag), hex(v.msg)),
        v.result === "valid",
        `tcId ${v.tcId}`,
      );
    }
  }
  assert.ok(full > 0);
});
