/**
 * The store keys a root trusts to sign licensing records (`pkg/store_keys.toml`), a list of its
 * own: a bundle publisher's key signs no entitlement, and a store key signs no bundle.
 */
import * as z from "zod/mini";
import { NxError } from "../errors.ts";
import { hexString } from "../schema/mod.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import { decodePublicKey, fingerprint } from "../trust/mod.ts";
import { initRoot, loadToml, type RootPaths, tomlBytes, writeFileAtomic } from "../store/mod.ts";

export const STORE_KEYS_VERSION = 1;

export const StoreKeySchema = z.strictObject({
  /** The key id: first 16 bytes of SHA-256 of the public key, 32 hex (as publisher ids). */
  id: hexString(16),
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  /** The Ed25519 public key, 64 hex. */
  key: hexString(32),
});
export type StoreKey = z.infer<typeof StoreKeySchema>;

const StoreKeysFileSchema = z.strictObject({
  version: z.int(),
  stores: z._default(z.array(StoreKeySchema), []),
});
type StoreKeysFile = z.infer<typeof StoreKeysFileSchema>;

export async function loadStoreKeys(paths: RootPaths): Promise<StoreKey[]> {
  const file = await loadToml(paths.storeKeysFile, StoreKeysFileSchema, STORE_KEYS_VERSION, {
    version: STORE_KEYS_VERSION,
    stores: [],
  });
  for (const s of file.stores) {
    if (fingerprint(fromHex(s.key)) !== s.id) {
      throw new NxError(
        "policy.invalid",
        `cannot read ${paths.storeKeysFile}: store ${s.id} does not match its key`,
      );
    }
  }
  return file.stores;
}

/** key id → public key, what verifyRecord takes. */
export function storeKeyMap(keys: readonly StoreKey[]): Map<string, Uint8Array> {
  return new Map(keys.map((k) => [k.id, fromHex(k.key)]));
}

async function save(paths: RootPaths, stores: StoreKey[]): Promise<void> {
  await initRoot(paths);
  const file: StoreKeysFile = { version: STORE_KEYS_VERSION, stores };
  await writeFileAtomic(
    paths.storeKeysFile,
    tomlBytes(file, "store keys trusted to sign entitlements (nx licensed trust add)"),
  );
}

/** Adds a store key (a PEM public key); `entitlement.store_already_trusted` when it is there. */
export async function addStoreKey(
  paths: RootPaths,
  publicKeyText: string,
  name: string | undefined,
): Promise<StoreKey> {
  const key = decodePublicKey(publicKeyText);
  const entry: StoreKey = { id: fingerprint(key), ...(name ? { name } : {}), key: toHex(key) };
  const stores = await loadStoreKeys(paths);
  const held = stores.find((s) => s.id === entry.id);
  if (held) {
    throw new NxError(
      "entitlement.store_already_trusted",
      `cannot trust store key ${entry.id}: it is trusted already${
        held.name ? ` (as ${held.name})` : ""
      }`,
      { details: { id: entry.id }, hint: "`nx licensed trust list` shows the trusted store keys" },
    );
  }
  await save(paths, [...stores, entry].sort((a, b) => a.id.localeCompare(b.id)));
  return entry;
}

/** Removes a store key by id; `entitlement.store_not_trusted` when there is none. */
export async function removeStoreKey(paths: RootPaths, id: string): Promise<StoreKey> {
  const stores = await loadStoreKeys(paths);
  const held = stores.find((s) => s.id === id);
  if (!held) {
    throw new NxError(
      "entitlement.store_not_trusted",
      `cannot remove store key ${id}: not trusted`,
      {
        details: { id },
        hint: "`nx licensed trust list` shows the trusted store keys",
      },
    );
  }
  await save(paths, stores.filter((s) => s.id !== id));
  return held;
}
