/**
 * Ed25519 (RFC 8032, PureEdDSA) over `@noble/ed25519` with strict verification: canonical point
 * encodings, S < L, and small-order public keys refused (the `zip215: false` branch), plus
 * small-order R refused (libsodium's rule).
 */
import * as ed from "@noble/ed25519";
import { createHash } from "node:crypto";

ed.hashes.sha512 = (message: Uint8Array) =>
  new Uint8Array(createHash("sha512").update(message).digest());

/** The group order L of the Ed25519 base point (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

export const SEED_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

export function sign(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

function scalarOf(signature: Uint8Array): bigint {
  return bytesToBigIntLE(signature.subarray(32, SIGNATURE_LENGTH));
}

/** trust: reject S ≥ L (malleable, non-canonical signatures; RFC 8032 §5.1.7 step 1). */
function hasCanonicalScalar(signature: Uint8Array): boolean {
  return signature.length === SIGNATURE_LENGTH && scalarOf(signature) < L;
}

/** trust: reject a small-order R, as libsodium does (no signature that verifies for any key). */
function hasSmallOrderR(signature: Uint8Array): boolean {
  try {
    return ed.Point.fromBytes(signature.subarray(0, 32), false).isSmallOrder();
  } catch {
    return true;
  }
}

/** Strict verification of a signature over a message held in memory. */
export function verifyStrict(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (!hasCanonicalScalar(signature) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (hasSmallOrderR(signature)) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * The `R ‖ A` that starts the SHA-512 verification needs, so a large message (the payload) can
 * be streamed after it instead of being held in memory.
 */
export function challengePrefix(signature: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(64);
  prefix.set(signature.subarray(0, 32));
  prefix.set(publicKey, 32);
  return prefix;
}

/**
 * Strict verification given `challenge` = SHA-512(R ‖ A ‖ M) computed while streaming M.
 * Same equation and rules as {@link verifyStrict}: [8]([S]B − R − [k]A) = O with canonical R
 * and A, A not of small order, S < L.
 */
export function verifyStrictWithChallenge(
  signature: Uint8Array,
  publicKey: Uint8Array,
  challenge: Uint8Array,
): boolean {
  if (!hasCanonicalScalar(signature) || publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  if (hasSmallOrderR(signature)) return false;
  try {
    const A = ed.Point.fromBytes(publicKey, false);
    const R = ed.Point.fromBytes(signature.subarray(0, 32), false);
    if (A.isSmallOrder()) return false;
    const k = ed.etc.mod(bytesToBigIntLE(challenge), L);
    const SB = ed.Point.BASE.multiply(scalarOf(signature), false);
    return R.add(A.multiply(k, false)).subtract(SB).clearCofactor().is0();
  } catch {
    return false;
  }
}

function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** trust: a public key must be a canonical encoding of a point that is not of small order. */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_LENGTH) return false;
  try {
    return !ed.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}
