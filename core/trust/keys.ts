/**
 * Key files: PKCS#8 (secret) and SPKI (public) PEM for Ed25519 (RFC 8410), readable by OpenSSL.
 * Only the one fixed DER shape is accepted; anything else is `key.invalid`.
 */
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import {
  isAcceptablePublicKey,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSeed,
  SEED_LENGTH,
} from "./ed25519.ts";
import { fromHex, toHex } from "../bytes/mod.ts";

const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
const SPKI_PREFIX = fromHex("302a300506032b6570032100");

export interface KeyPair {
  seed: Uint8Array;
  publicKey: Uint8Array;
}

/** Publisher id / key fingerprint: first 16 bytes of SHA-256(public key), 32 lowercase hex. */
export function fingerprintBytes(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(publicKey).digest()).subarray(0, 16);
}

export function fingerprint(publicKey: Uint8Array): string {
  return toHex(fingerprintBytes(publicKey));
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== SEED_LENGTH) throw new NxError("key.invalid", "cannot use key: bad seed");
  return { seed, publicKey: publicKeyFromSeed(seed) };
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...der));
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function unpem(label: string, text: string, prefix: Uint8Array, bodyLength: number): Uint8Array {
  const match = text.trim().match(
    new RegExp(`^-----BEGIN ${label}-----\\s+([A-Za-z0-9+/=\\s]+?)\\s+-----END ${label}-----$`),
  );
  if (!match) throw new NxError("key.invalid", `cannot read key: not a ${label} PEM block`);
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(match[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    throw new NxError("key.invalid", "cannot read key: bad base64");
  }
  const ok = der.length === prefix.length + bodyLength &&
    prefix.every((b, i) => der[i] === b);
  if (!ok) throw new NxError("key.invalid", `cannot read key: not an Ed25519 ${label}`);
  return der.slice(prefix.length);
}

export function encodeSecretKey(seed: Uint8Array): string {
  return pem("PRIVATE KEY", new Uint8Array([...PKCS8_PREFIX, ...seed]));
}

export function encodePublicKey(publicKey: Uint8Array): string {
  return pem("PUBLIC KEY", new Uint8Array([...SPKI_PREFIX, ...publicKey]));
}

export function decodeSecretKey(text: string): KeyPair {
  return keyPairFromSeed(unpem("PRIVATE KEY", text, PKCS8_PREFIX, SEED_LENGTH));
}

export function decodePublicKey(text: string): Uint8Array {
  const key = unpem("PUBLIC KEY", text, SPKI_PREFIX, PUBLIC_KEY_LENGTH);
  if (!isAcceptablePublicKey(key)) {
    throw new NxError("key.invalid", "cannot use key: not a valid Ed25519 point or of small order");
  }
  return key;
}
