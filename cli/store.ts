/**
 * `nx store catalog|buy|refund|restore`: the offline dev store (docs/licensing.md#the-dev-store).
 * The store side — its signed catalog and its signing key — lives here, on the host; the root
 * side is reached only through the contract (`licensedDevice`, `licensedImport`,
 * `licensedList`, `install`), so every verb works with `--transport` on an agent's root.
 */
import { Command } from "@commander-js/extra-typings";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallContext, Pkgr } from "../core/api/mod.ts";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, runVerb, withCommon } from "./common.ts";
import { withTransport } from "./remote.ts";
import { statusLine } from "./licensed.ts";
import { opMessage, renderOp } from "./render/lifecycle.ts";
import { table } from "./render/text.ts";
import { runOnRoot } from "./root_command.ts";

/** The repository's fixtures: the dev store's catalog and key (one level above cli/). */
const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

interface StoreOpts extends CommonOptions {
  store?: string;
  storeKey?: string;
}

const withStore = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  cmd
    .option(
      "--store <dir>",
      "the store's catalog directory (default: the dev store, fixtures/store)",
    )
    .option(
      "--store-key <file>",
      "the store's secret signing key (default: the dev store's, fixtures/keys/licensing.key)",
    );

async function entitlement() {
  return await import("../core/entitlement/mod.ts");
}

/** The store: its verified catalog, its key and where its bundles are. */
async function openStore(opts: StoreOpts) {
  const e = await entitlement();
  const { loadSecretKey } = await import("../core/pkgr/keys.ts");
  const dir = resolve(opts.store ?? join(FIXTURES, "store"));
  const key = await loadSecretKey(opts.storeKey ?? join(FIXTURES, e.DEV_STORE.secretKeyFile));
  const read = (name: string) =>
    Deno.readFile(join(dir, name)).catch((err) => {
      throw new NxError("store.catalog_invalid", `cannot read the store catalog: ${err.message}`, {
        details: { dir },
        hint: "--store names a directory holding catalog.toml and catalog.toml.sig",
      });
    });
  const catalog = e.parseCatalog(
    await read(e.CATALOG_FILE),
    await read(e.CATALOG_SIG_FILE),
    key.publicKey,
  );
  // Bundle paths are relative to the catalog's base: the directory above the catalog's.
  const bundlePath = (bundle: string) => resolve(dirname(dir), bundle);
  return { e, catalog, seed: key.seed, bundlePath };
}

/** Base64 of a record (node:buffer is loaded on use: the start-up graph holds no node: module). */
async function b64(bytes: Uint8Array): Promise<string> {
  const { Buffer } = await import("node:buffer");
  return Buffer.from(bytes).toString("base64");
}
const marker = (call: CallContext, text: string) => call.reporter.emit({ kind: "marker", text });

function catalogCommand() {
  return withStore(
    new Command("catalog").description("list what the store sells (its signed catalog)"),
  )
    .action((opts) =>
      runVerb(opts as StoreOpts, async () => {
        const { catalog } = await openStore(opts as StoreOpts);
        return {
          message: `${catalog.skus.length} sku(s) in ${catalog.store}`,
          data: catalog,
          human: `${catalog.store} (key ${catalog.key})\n${
            table(
              ["sku", "app", "title", "price", "type", "days"],
              catalog.skus.map((s) => [
                s.id,
                s.app,
                s.title,
                `${s.price} ${s.currency}`,
                s.type,
                String(s.days),
              ]),
            )
          }`,
        };
      })
    );
}

type BuyOpts = StoreOpts & { yes?: true };

/** Whether to install after a purchase: --yes, or a person said so at the terminal. */
function installWanted(opts: BuyOpts, what: string): boolean {
  if (opts.yes === true) return true;
  if (opts.json === true || !Deno.stdin.isTerminal()) return false;
  return /^y(es)?$/i.test(prompt(`install ${what} now? [y/N]`)?.trim() ?? "");
}

async function buy(pkgr: Pkgr, call: CallContext, sku: string, opts: BuyOpts) {
  const { e, catalog, seed, bundlePath } = await openStore(opts);
  const entry = e.findSku(catalog, sku);
  const bundle = bundlePath(entry.bundle);
  // The pin first: a purchase of a bundle the catalog does not name would sell the wrong thing.
  e.checkBundlePin(
    entry,
    await Deno.readFile(join(bundle, "meta", "index.json")).catch(() => {
      throw new NxError("store.bundle_mismatch", `cannot sell ${sku}: ${bundle} is not a bundle`, {
        details: { sku, bundle },
      });
    }),
  );
  const device = await pkgr.licensedDevice({}, call);
  const now = Math.floor(call.now.getTime() / 1000);
  const token = e.issueEntitlement(e.entitlementFor(catalog, entry, device.fingerprint, now), seed);
  const imported = await pkgr.licensedImport({
    records: [{ name: `${sku}.nxe`, data: await b64(token) }],
  }, call);
  marker(call, `ui: store buy app=${entry.app} sku=${entry.id}`);
  const status = imported.apps[0];
  const lines = [`bought ${entry.title} (${entry.price} ${entry.currency}) for this device`];
  if (status?.version !== undefined) {
    lines.push(statusLine(status));
    return { data: { sku, appId: entry.app, imported, installed: null }, lines };
  }
  if (!installWanted(opts, `${entry.app} from ${entry.bundle}`)) {
    lines.push(`to install it: nx pkg install ${bundle}`);
    return { data: { sku, appId: entry.app, imported, installed: null, bundle }, lines };
  }
  const installed = await pkgr.install({ bundle: { kind: "path", path: bundle } }, call);
  lines.push(renderOp(installed));
  return {
    data: { sku, appId: entry.app, imported, installed },
    lines,
    message: opMessage(installed),
  };
}

/** Issues and imports a status change for each of this store's tokens of `sku` in `from` state. */
async function change(
  pkgr: Pkgr,
  call: CallContext,
  sku: string,
  opts: StoreOpts,
  action: "revoke" | "restore",
) {
  const { e, catalog, seed } = await openStore(opts);
  const entry = e.findSku(catalog, sku);
  const ledger = await pkgr.licensedList({ app: entry.app }, call);
  const held = ledger.tokens.filter((t) =>
    t.sku === e.grantedSku(entry) && t.type === entry.type && t.keyId === catalog.key &&
    (action === "revoke" ? t.state !== "revoked" : t.state === "revoked")
  );
  if (held.length === 0) {
    throw new NxError(
      "entitlement.missing",
      `cannot ${action === "revoke" ? "refund" : "restore"} ${sku}: this root holds no ${
        action === "revoke" ? "valid" : "revoked"
      } token of it from ${catalog.store}`,
      { details: { sku, appId: entry.app }, hint: "`nx licensed list` shows the root's tokens" },
    );
  }
  const issuedAt = Math.floor(call.now.getTime() / 1000);
  const records = await Promise.all(held.map(async (t, i) => ({
    name: `${sku}.${action}.nxr`,
    data: await b64(e.issueStatusChange({
      version: 1,
      tokenId: t.tokenId,
      action,
      issuedAt,
      // The store's own order of its changes: later calls get larger serials.
      serial: call.now.getTime() * 16 + i,
      appId: entry.app,
      sku: e.grantedSku(entry),
      reason: action === "revoke" ? "refund" : "restored by the store",
    }, seed)),
  })));
  const imported = await pkgr.licensedImport({ records }, call);
  if (action === "revoke") marker(call, `ui: store refund app=${entry.app} sku=${entry.id}`);
  return imported;
}

function rootVerb(name: string, description: string) {
  return withTransport(withStore(withCommon(new Command(name).description(description))));
}

function buyCommand() {
  return rootVerb("buy", "buy a sku: a token for this root's device is issued and imported")
    .argument("<sku>", "the sku to buy (`nx store catalog`)")
    .option("--yes", "then install the app without asking")
    .action((sku, opts) =>
      runOnRoot(opts as BuyOpts, true, async (pkgr, call) => {
        const r = await buy(pkgr, call, sku, opts as BuyOpts);
        return { message: r.message ?? r.lines[0], data: r.data, human: r.lines.join("\n") };
      })
    );
}

function changeCommand(name: "refund" | "restore", action: "revoke" | "restore", what: string) {
  return rootVerb(name, what)
    .argument("<sku>", "the sku bought")
    .action((sku, opts) =>
      runOnRoot(opts as StoreOpts, true, async (pkgr, call) => {
        const r = await change(pkgr, call, sku, opts as StoreOpts, action);
        return {
          message: `${name === "refund" ? "refunded" : "restored"} ${sku}`,
          data: r,
          human: r.apps.map(statusLine).join("\n"),
        };
      })
    );
}

export function storeCommand() {
  const store = new Command("store").description(
    "the offline dev store: its catalog, purchases, refunds (docs/licensing.md)",
  );
  for (
    const c of [
      catalogCommand(),
      buyCommand(),
      changeCommand(
        "refund",
        "revoke",
        "refund a purchase: the store revokes its token, the app turns inactive",
      ),
      changeCommand("restore", "restore", "undo a refund: the store restores the revoked token"),
    ]
  ) {
    store.addCommand(c as unknown as Command);
  }
  return store;
}
