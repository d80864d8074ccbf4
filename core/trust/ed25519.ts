/**
 * Ed25519 (RFC 8032, PureEdDSA) with the verdicts of ed25519-dalek 2 `VerifyingKey::verify_strict`
 * (default features, i.e. without `legacy_compatibility`), the verifier upstream checks bundles
 * with. Point arithmetic is `@noble/ed25519`'s; SHA-512 is node:crypto's. Verification runs cold:
 * it never multiplies the base point through noble, so noble's base-point table is not built
 * (_ed25519_cold.ts; docs/signing.md#cold-verification). The rules, in dalek's order
 * (docs/signing.md#strict-ed25519 explains each):
 *
 * 1. S must be canonical: S < L.
 * 2. R and A are decoded as curve25519-dalek's `CompressedEdwardsY::decompress` does.
 * 3. R and A must not be of small order.
 * 4. k = SHA-512(R bytes ‖ A bytes ‖ M) mod L, over the bytes exactly as given.
 * 5. [S]B − [k]A, compressed (canonically), must equal the signature's R bytes, byte for byte:
 *    the cofactorless equation; a non-canonical R encoding therefore never matches.
 */
import * as ed from "@noble/ed25519";
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
} from "node:crypto";
import { concatBytes, fromHex } from "../bytes/mod.ts";
import { baseMinusMultiple, isSmallOrder } from "./_ed25519_cold.ts";

// noble hashes with this where it hashes at all (the tests compare against its sign and verify).
ed.hashes.sha512 = (message: Uint8Array) =>
  new Uint8Array(createHash("sha512").update(message).digest());

/** The group order L of the Ed25519 base point (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

export const SEED_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
/** SHA-512 output: the challenge digest {@link verifyStrictWithChallenge} finishes from. */
export const CHALLENGE_LENGTH = 64;

/** RFC 8410: a seed's PKCS#8 DER is this ‖ the seed; a public key's SPKI DER is 12 bytes ‖ it. */
const PKCS8_SEED_PREFIX = fromHex("302e020100300506032b657004220420");
const SPKI_HEADER_LENGTH = 12;

/**
 * The public key of a seed, derived natively (node:crypto): noble's getPublicKey multiplies the
 * base point through the table it builds on first use (tens of milliseconds in a fresh process,
 * see _ed25519_cold.ts), which a CLI process deriving one key (the root's device key, at every
 * entitlement gate) never repays (docs/performance.md#licensing-suite).
 */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(secretKeyObject(seed, "derive a public key"))
    .export({ format: "der", type: "spki" });
  return new Uint8Array(spki.subarray(SPKI_HEADER_LENGTH));
}

/**
 * RFC 8032 Ed25519 signature of `message`, natively (node:crypto), for the same reason as
 * {@link publicKeyFromSeed}: noble's sign multiplies the base point twice, so the first signature
 * of a process (every remote command's handshake, every pack) would pay for the table. Ed25519
 * signing is deterministic: the bytes are noble's (core/trust/ed25519_test.ts compares them).
 */
export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, secretKeyObject(seed, "sign")));
}

function secretKeyObject(seed: Uint8Array, what: string): KeyObject {
  if (seed.length !== SEED_LENGTH) throw new RangeError(`cannot ${what}: bad seed`);
  const der = concatBytes([PKCS8_SEED_PREFIX, seed]);
  return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
}

/**
 * A 32-byte point encoding decoded as curve25519-dalek's `CompressedEdwardsY::decompress`:
 * y is the low 255 bits reduced mod p (so the 19 encodings with y ≥ p are accepted as y − p);
 * x is the non-negative square root, negated when the sign bit is set, so x = 0 with the sign
 * bit set is accepted (as x = 0). Undefined when y is not the y-coordinate of a curve point.
 * noble's ZIP-215 decoding (`fromBytes(bytes, true)`) is exactly this.
 */
export function decompressPoint(bytes: Uint8Array): ed.Point | undefined {
  if (bytes.length !== 32) return undefined;
  try {
    return ed.Point.fromBytes(bytes, true);
  } catch {
    return undefined;
  }
}

/**
 * The `R ‖ A` that starts the SHA-512 verification needs, so a large message (the payload) can
 * be streamed after it instead of being held in memory.
 */
export function challengePrefix(signature: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(64);
  prefix.set(signature.subarray(0, 32));
  prefix.set(publicKey.subarray(0, 32), 32);
  return prefix;
}

/** Strict verification of a signature over a message held in memory. */
export function verifyStrict(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  const challenge = createHash("sha512")
    .update(challengePrefix(signature, publicKey))
    .update(message)
    .digest();
  return verifyStrictWithChallenge(signature, publicKey, new Uint8Array(challenge));
}

/**
 * Strict verification given `challenge` = SHA-512(R ‖ A ‖ M) computed while streaming M
 * (from {@link challengePrefix}). Same verdict as {@link verifyStrict} and as dalek's
 * `verify_strict` on (A, M, R ‖ S).
 */
export function verifyStrictWithChallenge(
  signature: Uint8Array,
  publicKey: Uint8Array,
  challenge: Uint8Array,
): boolean {
  if (
    signature.length !== SIGNATURE_LENGTH || publicKey.length !== PUBLIC_KEY_LENGTH ||
    challenge.length !== CHALLENGE_LENGTH
  ) return false;
  const rBytes = signature.subarray(0, 32);
  // trust: reject S ≥ L (a second, malleable encoding of the same signature; RFC 8032 §5.1.7)
  const s = bytesToBigIntLE(signature.subarray(32, SIGNATURE_LENGTH));
  if (s >= L) return false;
  // trust: R and A must decode (dalek's decompress; an undecodable R or A is a reject)
  const R = decompressPoint(rBytes);
  const A = decompressPoint(publicKey);
  if (!R || !A) return false;
  // trust: reject small-order R or A (a small-order key verifies forgeries for many messages)
  if (isSmallOrder(R) || isSmallOrder(A)) return false;
  // trust: R must equal compress([S]B − [k]A) byte for byte (cofactorless; canonical R only)
  const k = bytesToBigIntLE(challenge) % L;
  const expected = baseMinusMultiple(s, k, A).toBytes();
  return equalBytes(expected, rBytes);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * trust: a key added to a root must be a canonical encoding of a point that is not of small
 * order. Stricter than verification (which, like dalek, decodes non-canonical A): it is the rule
 * for admitting keys, so every trusted key has exactly one encoding.
 */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  try {
    return !isSmallOrder(ed.Point.fromBytes(publicKey, false));
  } catch {
    return false;
  }
}
