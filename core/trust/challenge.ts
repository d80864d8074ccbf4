/**
 * Which key and which `R` the payload signature will be checked with, decided before the payload
 * is read, so the reader can stream the payload into SHA-512(R ‖ A ‖ M) (trust/ed25519.ts).
 */
import {
  decodeManifest,
  INDEX_SIG_FILE,
  IndexSigSchema,
  MANIFEST_FILE,
  payloadFileFor,
} from "../bundle/mod.ts";
import type { ChallengeRequest } from "../bundle/mod.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import { challengePrefix } from "./ed25519.ts";
import { decidePublisher, type PublishersFile } from "./policy.ts";

/** The key the payload signature is verified with: the index signer's, else the publisher's. */
export function payloadKeyFor(
  indexSigBytes: Uint8Array | undefined,
  publisherId: string,
  publishers: PublishersFile,
): Uint8Array | undefined {
  if (indexSigBytes) {
    const sig = IndexSigSchema.safeParse(parseJsonOrUndefined(indexSigBytes));
    return sig.success ? fromHex(sig.data.key) : undefined;
  }
  const decision = decidePublisher(publishers, { publisherId, alg: "ed25519" });
  return decision.allow ? decision.key : undefined;
}

/** Returns what to stream, or undefined when the bundle is too broken to get that far. */
export function planChallenge(
  small: ReadonlyMap<string, Uint8Array>,
  publishers: PublishersFile,
): ChallengeRequest | undefined {
  const manifestBytes = small.get(MANIFEST_FILE);
  if (!manifestBytes) return undefined;
  try {
    const m = decodeManifest(manifestBytes);
    if (!m.signature || m.signature.length !== 64 || !m.publisher) return undefined;
    const key = payloadKeyFor(small.get(INDEX_SIG_FILE), toHex(m.publisher), publishers);
    if (!key) return undefined;
    return { path: payloadFileFor(m.payloadKind), prefix: challengePrefix(m.signature, key) };
  } catch {
    return undefined;
  }
}

export function parseJsonOrUndefined(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}
