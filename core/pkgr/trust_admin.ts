/** `nx pkg trust add|remove|list` and `nx pkg policy show|set`: edits of the root's policy. */
import { NxError } from "../errors.ts";
import type { TrustAddRequest } from "../api/mod.ts";
import { toHex } from "../bytes/mod.ts";
import {
  exists,
  initRoot,
  loadTrust,
  type RootPaths,
  savePolicy,
  savePublishers,
  withRootLock,
} from "../store/mod.ts";
import {
  decodePublicKey,
  fingerprint,
  type Policy,
  PolicySchema,
  type Publisher,
  SUPPORTED_ALGS,
  withoutPublisher,
  withPublisher,
} from "../trust/mod.ts";

/** Trusts the request's public key (its text: the caller read the file, see keys.ts). */
export async function trustAdd(paths: RootPaths, req: TrustAddRequest): Promise<Publisher> {
  const key = decodePublicKey(req.publicKey);
  await initRoot(paths);
  return await withRootLock(paths, "trust add", () => addKey(paths, req, key));
}

async function addKey(paths: RootPaths, req: TrustAddRequest, key: Uint8Array): Promise<Publisher> {
  const { publishers } = await loadTrust(paths);
  const id = req.publisher ?? fingerprint(key);
  const existing = publishers.publishers.find((p) => p.id === id);
  if (req.publisher && !existing) {
    throw new NxError("policy.publisher_unknown", `cannot add key: publisher ${id} is not trusted`);
  }
  const keys = [...new Set([...(existing?.keys ?? []), toHex(key)])].sort();
  const entry: Publisher = {
    id,
    ...(req.name ?? existing?.name ? { name: req.name ?? existing?.name } : {}),
    enabled: req.enabled !== false,
    allowed_algs: existing?.allowed_algs ?? [...SUPPORTED_ALGS],
    keys,
  };
  await savePublishers(paths, withPublisher(publishers, entry));
  return entry;
}

export async function trustRemove(paths: RootPaths, id: string): Promise<Publisher> {
  // Nothing to remove from a root that does not exist; do not create one (or its lock).
  if (!(await exists(paths.pkg))) {
    throw new NxError("policy.publisher_unknown", `cannot remove publisher ${id}: not trusted`);
  }
  return await withRootLock(paths, "trust remove", () => removePublisher(paths, id));
}

async function removePublisher(paths: RootPaths, id: string): Promise<Publisher> {
  const { publishers } = await loadTrust(paths);
  const existing = publishers.publishers.find((p) => p.id === id || p.name === id);
  if (!existing) {
    throw new NxError("policy.publisher_unknown", `cannot remove publisher ${id}: not trusted`);
  }
  await savePublishers(paths, withoutPublisher(publishers, existing.id));
  return existing;
}

export async function trustList(paths: RootPaths): Promise<Publisher[]> {
  return (await loadTrust(paths)).publishers.publishers;
}

export async function policyShow(paths: RootPaths): Promise<Policy> {
  return (await loadTrust(paths)).policy;
}

/** Policy keys on the command line use dashes: `dev-mode` → `dev_mode`. */
export const POLICY_KEYS = Object.keys(PolicySchema.shape)
  .filter((k) => k !== "version")
  .map((k) => k.replaceAll("_", "-"));

function parseValue(text: string): unknown {
  if (["on", "true", "yes"].includes(text)) return true;
  if (["off", "false", "no"].includes(text)) return false;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

export async function policySet(paths: RootPaths, key: string, value: string): Promise<Policy> {
  if (!POLICY_KEYS.includes(key)) {
    throw new NxError("usage.invalid_argument", `cannot set policy key \`${key}\``, {
      hint: `keys: ${POLICY_KEYS.join(", ")}`,
    });
  }
  await initRoot(paths);
  return await withRootLock(paths, "policy set", () => setKey(paths, key, value));
}

async function setKey(paths: RootPaths, key: string, value: string): Promise<Policy> {
  const { policy } = await loadTrust(paths);
  const next = PolicySchema.safeParse({ ...policy, [key.replaceAll("-", "_")]: parseValue(value) });
  if (!next.success) {
    throw new NxError("usage.invalid_argument", `cannot set ${key} to \`${value}\`: invalid value`);
  }
  await savePolicy(paths, next.data);
  return next.data;
}
