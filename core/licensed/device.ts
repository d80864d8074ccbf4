/**
 * The root's device identity: an Ed25519 key (`pkg/device.key`, 0600) made on first use by a
 * licensing command that writes. Its fingerprint — the first 16 bytes of SHA-256 of the public
 * key, 32 hex, as publisher ids — is the device an entitlement names (docs/licensing.md). The key
 * stays with the root: a copied root is the same device, a new root a new one.
 */
import { NxError } from "../errors.ts";
import { readFileOr, type RootPaths, writeFileAtomic } from "../store/mod.ts";
import { decodeSecretKey, encodeSecretKey, keyPairFromSeed } from "../trust/mod.ts";
import { deviceFingerprint } from "../entitlement/mod.ts";

export interface Device {
  fingerprint: string;
  /** Whether this call made the key. */
  created: boolean;
}

/** The root's device, or undefined when it has none yet (a reader never makes one). */
export async function readDevice(paths: RootPaths): Promise<Device | undefined> {
  const bytes = await readFileOr(paths.deviceKeyFile, undefined, 16 * 1024);
  if (bytes === undefined) return undefined;
  try {
    const pair = decodeSecretKey(new TextDecoder().decode(bytes));
    return { fingerprint: deviceFingerprint(pair.publicKey), created: false };
  } catch (e) {
    throw new NxError("policy.invalid", `cannot read the device key ${paths.deviceKeyFile}`, {
      cause: e,
      hint: "it was changed outside nx; entitlements are bound to this key's fingerprint",
    });
  }
}

/** The root's device, made now when missing (call it under the root's writer lock). */
export async function ensureDevice(paths: RootPaths): Promise<Device> {
  const held = await readDevice(paths);
  if (held) return held;
  const pair = keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  await writeFileAtomic(
    paths.deviceKeyFile,
    new TextEncoder().encode(encodeSecretKey(pair.seed)),
    0o600,
  );
  return { fingerprint: deviceFingerprint(pair.publicKey), created: true };
}
