/**
 * Shared helpers of the licensing end-to-end suites: a root that trusts the paid fixture's
 * publisher (store.pub) and the dev store's key (licensing.pub), records issued here with the
 * store's seed (times relative to the real clock: the CLI reads it), the root's observable state
 * for "nothing was written" checks, and `--json` calls whose data must parse with its schema.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  decodeRecord,
  type Entitlement,
  issueEntitlement,
  issueStatusChange,
  LICENSING_AUDIENCE,
  type StatusChange,
} from "../core/entitlement/mod.ts";
import { ERROR_TABLE, type ErrorCode, EXIT_CLASSES } from "../core/errors.ts";
import { EnvelopeSchema } from "../core/protocol/mod.ts";
import { seedFor } from "../fixtures/catalog.ts";
import { cloneRoot } from "./_roots.ts";
import { FIXTURES, nx, type NxOptions, tempDir } from "./helpers.ts";
import { offCase } from "./_json.ts";

export const STORE_SEED = seedFor("licensing");
export const KEYS = join(FIXTURES, "keys");
export const LEDGER = join(FIXTURES, "bundles", "ledger-1.0.0.nxb");
export const YEAR = 365 * 86_400;
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Runs `nx <args> --json`; expects success and returns `data` parsed strictly with `schema`. */
export { jsonData as ok } from "./_json.ts";

/** Runs `nx <args> --json`; expects the refusal `code` with its class's exit code. */
export async function refused(args: string[], code: string, options: NxOptions = {}) {
  const r = await nx([...args, "--json"], options);
  assert.equal(r.json?.code, code, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
  const envelope = EnvelopeSchema.parse(r.json);
  assert.deepEqual([envelope.ok, offCase(envelope.data)], [false, []], "an error envelope");
  assert.equal(r.code, EXIT_CLASSES[ERROR_TABLE[code as ErrorCode].exitClass], "exit code");
  return r;
}

export interface LicensedRoot {
  root: string;
  /** The root's device fingerprint (clones share the template's device key). */
  device: string;
}

let template: Promise<LicensedRoot> | undefined;

/** A fresh root trusting store.pub (publisher) and licensing.pub (store key), device made. */
export async function licensedRoot(): Promise<LicensedRoot> {
  template ??= (async () => {
    const root = join(await tempDir("nx-licensed-"), "root");
    const run = async (args: string[]) => {
      const r = await nx([...args, "--json"], { root });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      return r.json!.data;
    };
    await run(["pkg", "trust", "add", join(KEYS, "store.pub"), "--name", "store"]);
    await run(["licensed", "trust", "add", join(KEYS, "licensing.pub"), "--name", "dev-store"]);
    const device = await run(["licensed", "device"]);
    return { root, device: device.fingerprint };
  })();
  const t = await template;
  return { root: await cloneRoot(t.root), device: t.device };
}

/** Token fields for `device`: ledger / ledger.pro, valid from a minute ago for a year. */
export function tokenFields(device: string, over: Partial<Entitlement> = {}): Entitlement {
  const t = nowSeconds();
  return {
    version: 1,
    appId: "ledger",
    sku: "ledger.pro",
    type: "full",
    deviceFp: device,
    audience: LICENSING_AUDIENCE,
    iat: t - 60,
    nbf: t - 60,
    exp: t + YEAR,
    meta: [{ key: "store", value: "nx-dev-store" }],
    ...over,
  };
}

export function changeFields(tokenId: string, over: Partial<StatusChange> = {}): StatusChange {
  return {
    version: 1,
    tokenId,
    action: "revoke",
    issuedAt: nowSeconds(),
    serial: 1,
    appId: "ledger",
    sku: "ledger.pro",
    reason: "refund",
    ...over,
  };
}

/** Writes `bytes` as a fresh file `name`; returns its path. */
export async function writeRecord(bytes: Uint8Array, name = "record.nxe"): Promise<string> {
  const path = join(await tempDir("nx-record-"), name);
  await Deno.writeFile(path, bytes);
  return path;
}

/** A token file for `device`, signed by `seed`: its path, bytes and token id. */
export async function tokenFile(
  device: string,
  over: Partial<Entitlement> = {},
  seed = STORE_SEED,
) {
  const bytes = issueEntitlement(tokenFields(device, over), seed);
  const record = decodeRecord(bytes);
  assert.equal(record.kind, "entitlement");
  return { path: await writeRecord(bytes, "token.nxe"), bytes, tokenId: record.tokenId };
}

/** A revocation (or, with `action`, a restore) file of `tokenId`, signed by `seed`. */
export async function changeFile(
  tokenId: string,
  over: Partial<StatusChange> = {},
  seed = STORE_SEED,
): Promise<string> {
  return await writeRecord(issueStatusChange(changeFields(tokenId, over), seed), "change.nxr");
}

/** Every entry below `dir` but the registry database's files (WAL included), sorted, hashed. */
async function tree(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  const entries = await Array.fromAsync(Deno.readDir(join(dir, rel)));
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (path.startsWith("pkg/registry.db")) continue;
    if (e.isDirectory) out.push(`${path}/`, ...await tree(dir, path));
    else if (e.isSymlink) out.push(`${path} -> ${await Deno.readLink(join(dir, path))}`);
    else {
      const bytes = await Deno.readFile(join(dir, path));
      out.push(`${path} ${createHash("sha256").update(bytes).digest("hex")}`);
    }
  }
  return out;
}

/** `nx <args> --json` on `root`: its envelope. */
async function envelope(root: string, args: string[]) {
  const r = await nx([...args, "--json"], { root });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.json!;
}

/**
 * What a refused command must leave as it was: every file of the root but the registry
 * database (content hashes, link targets), the apps the registry lists and its licensing
 * ledger, read through the CLI.
 */
export async function rootState(root: string): Promise<string> {
  // Readers only: run at once.
  const [files, apps, ledger] = await Promise.all([
    tree(root),
    envelope(root, ["pkg", "list"]),
    envelope(root, ["licensed", "list"]),
  ]);
  return [...files, JSON.stringify(apps), JSON.stringify(ledger)].join("\n");
}

/** The audit log's length and its last entry. */
export async function lastAudit(root: string) {
  const entries = (await envelope(root, ["pkg", "history"])).data.entries;
  return { count: entries.length, last: entries.at(-1) };
}

/**
 * Runs `run` and checks that it changed nothing but one audit entry whose result is `code`
 * (`audited: false`: not even that, for refusals made before the root is reached).
 */
export async function unchanged<T>(
  root: string,
  code: string,
  run: () => Promise<T>,
  audited = true,
): Promise<T> {
  const [before, audit] = await Promise.all([rootState(root), lastAudit(root)]);
  const result = await run();
  const [now, after] = await Promise.all([rootState(root), lastAudit(root)]);
  assert.equal(now, before, "a refusal changed the root");
  if (!audited) {
    assert.equal(after.count, audit.count, "an unexpected audit entry");
    return result;
  }
  assert.equal(after.count, audit.count + 1, "the refusal is audited once");
  assert.equal(after.last?.result, code);
  return result;
}

/** ledger `version` packed from the fixture source and signed by the paid app's publisher. */
export async function ledgerBundle(version: string, sku: string | null = "ledger.pro") {
  const work = await tempDir("nx-ledger-src-");
  const src = join(work, "src");
  await cp(join(FIXTURES, "src", "ledger-1.0.0"), src, { recursive: true });
  const manifest = join(src, "manifest.toml");
  let toml = (await Deno.readTextFile(manifest)).replace(
    'version = "1.0.0"',
    `version = "${version}"`,
  );
  if (sku === null) toml = toml.replace(/^sku = .*\n/m, "");
  await Deno.writeTextFile(manifest, toml);
  const out = join(work, "ledger.nxb");
  const key = join(KEYS, "store.key");
  const r = await nx(["pkg", "pack", src, "--key", key, "--out", out, "--json"]);
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  return out;
}
