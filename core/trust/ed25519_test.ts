import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import {
  challengePrefix,
  publicKeyFromSeed,
  sign,
  verifyStrict,
  verifyStrictWithChallenge,
} from "./ed25519.ts";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function seed(i: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`seed ${i}`).digest());
}

function challenge(signature: Uint8Array, key: Uint8Array, message: Uint8Array): Uint8Array {
  const h = createHash("sha512").update(challengePrefix(signature, key));
  // Stream in uneven chunks, as the bundle reader does.
  for (let i = 0; i < message.length; i += 7) h.update(message.subarray(i, i + 7));
  return new Uint8Array(h.digest());
}

function withScalar(signature: Uint8Array, s: bigint): Uint8Array {
  const out = signature.slice();
  for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  return out;
}

function scalarOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]);
  return s;
}

// Small-order point encodings (the identity and the order-2 point), RFC 8032 test lore.
const IDENTITY = new Uint8Array(32).fill(0).map((_, i) => (i === 0 ? 1 : 0));
const ORDER_TWO = (() => {
  const b = new Uint8Array(32).fill(0xff);
  b[0] = 0xec;
  b[31] = 0x7f;
  return b;
})();

Deno.test("verifyStrictWithChallenge() agrees with noble's strict verify", async (t) => {
  for (let i = 0; i < 24; i++) {
    await t.step(`case ${i}`, () => {
      const key = publicKeyFromSeed(seed(i));
      const message = createHash("sha512").update(`m${i}`).digest().subarray(0, i * 3);
      const signature = sign(message, seed(i));
      const tampered = signature.slice();
      tampered[i % 64] ^= 1 << (i % 8);
      for (const sig of [signature, tampered]) {
        const expected = ed.verify(sig, message, key, { zip215: false });
        assert.equal(verifyStrict(sig, message, key), expected);
        assert.equal(verifyStrictWithChallenge(sig, key, challenge(sig, key, message)), expected);
      }
    });
  }
});

Deno.test("verifyStrict() rejects a non-canonical scalar S + L", () => {
  const key = publicKeyFromSeed(seed(1));
  const message = new TextEncoder().encode("payload");
  const signature = sign(message, seed(1));
  const malleable = withScalar(signature, scalarOf(signature) + L);
  assert.ok(scalarOf(malleable) < 2n ** 256n);
  assert.equal(verifyStrict(malleable, message, key), false);
  assert.equal(
    verifyStrictWithChallenge(malleable, key, challenge(malleable, key, message)),
    false,
  );
});

Deno.test("verifyStrict() rejects small-order public keys", async (t) => {
  for (const [name, key] of [["identity", IDENTITY], ["order two", ORDER_TWO]] as const) {
    await t.step(name, () => {
      // With A of small order and S = 0, R = -[k]A passes the cofactored equation unless
      // small-order keys are refused; use R = identity, S = 0.
      const signature = new Uint8Array(64);
      signature.set(IDENTITY, 0);
      const message = new Uint8Array([1, 2, 3]);
      assert.equal(verifyStrict(signature, message, key), false);
      assert.equal(
        verifyStrictWithChallenge(signature, key, challenge(signature, key, message)),
        false,
      );
    });
  }
});

Deno.test("verifyStrict() rejects wrong lengths without throwing", () => {
  const key = publicKeyFromSeed(seed(2));
  assert.equal(verifyStrict(new Uint8Array(63), new Uint8Array(), key), false);
  assert.equal(verifyStrict(new Uint8Array(64), new Uint8Array(), key.subarray(1)), false);
});

Deno.test("verifyStrictWithChallenge() rejects a small-order R even when the equation holds", () => {
  // R = 0x00…00 decodes to a point of order 4; with k = 0 and S = 0 the cofactored equation
  // [8]([S]B − R − [k]A) = O holds for every key. libsodium refuses such R; so does nx.
  const key = publicKeyFromSeed(seed(2));
  assert.equal(verifyStrictWithChallenge(new Uint8Array(64), key, new Uint8Array(64)), false);
});
