/** Key files on disk: `nx pkg keygen`, and loading keys named on the command line. */
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { KeygenResult } from "../protocol/mod.ts";
import { exists, mkdirp, readFileOr, writeFileAtomic } from "../store/mod.ts";
import {
  decodeSecretKey,
  encodePublicKey,
  encodeSecretKey,
  fingerprint,
  type KeyPair,
  keyPairFromSeed,
} from "../trust/mod.ts";

export async function keygen(
  outDir: string,
  name: string,
  force = false,
): Promise<KeygenResult> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new NxError("usage.invalid_argument", `cannot use key name \`${name}\``);
  }
  const pair = keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)));
  await mkdirp(outDir);
  const secretKey = join(outDir, `${name}.key`);
  const publicKey = join(outDir, `${name}.pub`);
  // Overwriting a secret key silently would orphan everything it signed.
  if (!force && (await exists(secretKey) || await exists(publicKey))) {
    throw new NxError(
      "key.exists",
      `cannot create key ${name}: ${secretKey} or its .pub already exists`,
      {
        hint: "pick another --name, or pass --force to replace it",
      },
    );
  }
  const text = new TextEncoder();
  // The secret is created 0600 from the start (never briefly world-readable).
  await writeFileAtomic(secretKey, text.encode(encodeSecretKey(pair.seed)), 0o600);
  await writeFileAtomic(publicKey, text.encode(encodePublicKey(pair.publicKey)), 0o644);
  return { name, publisher: fingerprint(pair.publicKey), secretKey, publicKey };
}

async function readKeyText(path: string): Promise<string> {
  const bytes = await readFileOr(path, undefined);
  if (bytes === undefined) {
    throw new NxError("key.not_found", `cannot read key: ${path} does not exist`);
  }
  return new TextDecoder().decode(bytes);
}

export async function loadSecretKey(path: string): Promise<KeyPair> {
  const text = await readKeyText(path);
  // A public key where the secret belongs is the usual mix-up of keygen's two files.
  if (text.includes("PUBLIC KEY") && !text.includes("PRIVATE KEY")) {
    throw new NxError("key.invalid", `cannot sign with ${path}: it is a public key`, {
      hint: "--key takes the secret NAME.key that `nx pkg keygen` wrote; " +
        "NAME.pub is what `nx pkg trust add` takes",
    });
  }
  return decodeSecretKey(text);
}

/**
 * The public key of a key file as PEM text, for a `trustAdd` request: a public key file as it
 * is (the service decodes it), or the public half of a secret key file — the secret never
 * leaves the caller.
 */
export async function readPublicKeyText(path: string): Promise<string> {
  const text = await readKeyText(path);
  return text.includes("PRIVATE KEY") ? encodePublicKey(decodeSecretKey(text).publicKey) : text;
}
