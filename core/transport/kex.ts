/**
 * The key exchange the handshake runs, WebCrypto only: an ephemeral X25519 pair per connection,
 * the shared secret (an all-zero one refused), and the two direction keys
 * HKDF-SHA-256(ikm = shared, salt = SHA-256(HELLO body ‖ CHALLENGE body),
 * info = "nx/1 host->agent" | "nx/1 agent->host", 32 bytes). primitives_test.ts runs Project
 * Wycheproof's vectors through these very calls.
 */
import { NxError } from "../errors.ts";
import { concatBytes } from "../bytes/mod.ts";
import type { Bytes } from "./frame.ts";

const text = (s: string) => new TextEncoder().encode(s);
const HOST_TO_AGENT = text("nx/1 host->agent");
const AGENT_TO_HOST = text("nx/1 agent->host");

export interface Ephemeral {
  privateKey: CryptoKey;
  publicKey: Bytes;
}

export async function x25519Ephemeral(): Promise<Ephemeral> {
  const pair = await crypto.subtle.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const { privateKey, publicKey } = pair as CryptoKeyPair;
  return { privateKey, publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)) };
}

/**
 * X25519(private, peer). WebCrypto throws OperationError for an all-zero result (the peer sent
 * a low-order point, Secure Curves §X25519 step 6); we check for zero again rather than rely on
 * that. Both are transport.unauthenticated: only a broken or hostile peer sends such a key.
 */
export async function x25519Shared(privateKey: CryptoKey, peer: Bytes): Promise<Bytes> {
  let shared: Bytes;
  try {
    const pub = await crypto.subtle.importKey("raw", peer, { name: "X25519" }, false, []);
    shared = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: pub }, privateKey, 256),
    );
  } catch (e) {
    throw lowOrder(e);
  }
  if (shared.every((b) => b === 0)) throw lowOrder();
  return shared;
}

function lowOrder(cause?: unknown): NxError {
  return new NxError(
    "transport.unauthenticated",
    "cannot finish handshake: the peer's ephemeral key is of low order (all-zero shared secret)",
    { cause },
  );
}

export async function hkdfSha256(
  ikm: Bytes,
  salt: Bytes,
  info: Bytes,
  length: number,
): Promise<Bytes> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8),
  );
}

export async function sha256(...parts: Uint8Array[]): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", concat(...parts)));
}

export function concat(...parts: Uint8Array[]): Bytes {
  return concatBytes(parts);
}

export interface SessionKeys {
  hostToAgent: Bytes;
  agentToHost: Bytes;
}

export async function sessionKeys(shared: Bytes, transcriptHash: Bytes): Promise<SessionKeys> {
  const [hostToAgent, agentToHost] = await Promise.all([
    hkdfSha256(shared, transcriptHash, HOST_TO_AGENT, 32),
    hkdfSha256(shared, transcriptHash, AGENT_TO_HOST, 32),
  ]);
  return { hostToAgent, agentToHost };
}
