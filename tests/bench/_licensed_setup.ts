/**
 * What the licensed suite measures on: the paid fixture ledger-1.0.0 and a copy of its source
 * without the `sku = …` line, both packed with the store key (so the two bundles differ in the
 * sku alone), and a root that trusts the store key as a publisher, the dev store's licensing key
 * as a store key, and holds an entitlement for ledger.pro issued for its own device.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import {
  DEV_STORE,
  type Entitlement,
  issueEntitlement,
  LICENSING_AUDIENCE,
  RECORD_VERSION,
} from "../../core/entitlement/mod.ts";
import { seedFor } from "../../fixtures/catalog.ts";
import { FIXTURES } from "../helpers.ts";
import { nxOk } from "./_nx.ts";

export const LEDGER_SRC = join(FIXTURES, "src", "ledger-1.0.0");
export const STORE_KEY = join(FIXTURES, "keys", "store.key");
export const STORE_PUB = join(FIXTURES, "keys", "store.pub");
export const LICENSING_PUB = join(FIXTURES, "keys", "licensing.pub");
export const APP = "ledger";
export const SKU = "ledger.pro";

const DAY_SECONDS = 86_400;

export interface LedgerBundles {
  /** fixtures/src/ledger-1.0.0 packed with its sku. */
  paid: string;
  /** The same source without its `sku = …` line. */
  free: string;
}

/** Packs both bundles into `dir` with the store key (as the fixture's own bundle is signed). */
export async function ledgerBundles(dir: string): Promise<LedgerBundles> {
  const freeSrc = join(dir, "ledger-1.0.0-free-src");
  await cp(LEDGER_SRC, freeSrc, { recursive: true });
  const manifestPath = join(freeSrc, "manifest.toml");
  const toml = await Deno.readTextFile(manifestPath);
  const stripped = toml.replace(/^sku = .*\n/m, "");
  if (stripped === toml) throw new Error(`cannot strip the sku: none in ${manifestPath}`);
  await Deno.writeTextFile(manifestPath, stripped);
  const paid = join(dir, "ledger-1.0.0-paid.nxb");
  const free = join(dir, "ledger-1.0.0-free.nxb");
  await nxOk(["pkg", "pack", LEDGER_SRC, "--key", STORE_KEY, "--out", paid, "--force"]);
  await nxOk(["pkg", "pack", freeSrc, "--key", STORE_KEY, "--out", free, "--force"]);
  await Deno.remove(freeSrc, { recursive: true });
  return { paid, free };
}

/** Token fields for ledger.pro on `deviceFp`, valid from a minute before `now` for a year. */
export function ledgerToken(deviceFp: string, now: number, label = ""): Entitlement {
  return {
    version: RECORD_VERSION,
    appId: APP,
    sku: SKU,
    type: "full",
    deviceFp,
    audience: LICENSING_AUDIENCE,
    iat: now,
    nbf: now - 60,
    exp: now + 365 * DAY_SECONDS,
    meta: [{ key: "store", value: DEV_STORE.name + label }],
  };
}

/** A signed `.nxe` by the dev store's key (seedFor("licensing"), fixtures/keys/licensing.key). */
export function devStoreToken(fields: Entitlement): Uint8Array {
  return issueEntitlement(fields, seedFor("licensing"));
}

export interface LicensedRoot {
  root: string;
  /** The root's device fingerprint (32 hex), from `nx licensed device --json`. */
  device: string;
}

/**
 * `<dir>/template`: trusts store.pub (publisher) and licensing.pub (store key), has a device, and
 * holds one imported ledger.pro token for it. Samples install into `cp -a` copies of it: a copied
 * root is the same device, so the token holds in every copy.
 */
export async function licensedTemplate(dir: string): Promise<LicensedRoot> {
  const root = join(dir, "template");
  await nxOk(["pkg", "trust", "add", STORE_PUB, "--name", "store"], root);
  await nxOk(["licensed", "trust", "add", LICENSING_PUB, "--name", "dev-store"], root);
  const { fingerprint } = await nxOk(["licensed", "device"], root) as { fingerprint: string };
  const tokenFile = join(dir, "ledger.pro.nxe");
  const now = Math.floor(Date.now() / 1000);
  await Deno.writeFile(tokenFile, devStoreToken(ledgerToken(fingerprint, now)));
  await nxOk(["licensed", "import", tokenFile], root);
  return { root, device: fingerprint };
}

interface Listed {
  apps: { id: string; state: string; sku?: string; inactiveReason?: string }[];
}

/**
 * Throws unless `nx pkg list` on `root` shows ledger alone, active, with `sku` (undefined: the
 * free copy). `nx licensed status` would not tell the two apart: with no sku on the installed
 * record it falls back to the sku of a held token.
 */
export async function expectLedgerInstalled(root: string, sku: string | undefined): Promise<void> {
  const { apps } = await nxOk(["pkg", "list"], root) as Listed;
  const ok = apps.length === 1 && apps[0].id === APP && apps[0].state === "active" &&
    apps[0].sku === sku && apps[0].inactiveReason === undefined;
  if (!ok) {
    throw new Error(
      `cannot measure the gate: ${root} should hold ledger ${sku ?? "without a sku"}, active; ` +
        `list shows ${JSON.stringify(apps)}`,
    );
  }
}
