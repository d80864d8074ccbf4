/**
 * The offline dev store through the real CLI: its signed catalog (a tampered price, bundle
 * reference or signature is `store.catalog_invalid`, a swapped bundle `store.bundle_mismatch`,
 * and nothing reaches the root), purchases with and without --yes, the trial offer (a token
 * for the paid sku), refunds and restores, and the order of status changes.
 */
import assert from "node:assert/strict";
import { cp, symlink } from "node:fs/promises";
import { join } from "node:path";
import {
  ImportResultSchema,
  LedgerViewSchema,
  OpResultSchema,
  StoreKeyViewSchema,
} from "../core/api/mod.ts";
import { seedFor } from "../fixtures/catalog.ts";
import { AppSummaryListSchema } from "../core/protocol/mod.ts";
import { FIXTURES, tempDir } from "./helpers.ts";
import {
  changeFile,
  KEYS,
  ledgerBundle,
  licensedRoot,
  nowSeconds,
  ok,
  refused,
  unchanged,
} from "./_licensed.ts";
import { CatalogSchema, StoreBuySchema } from "../core/protocol/mod.ts";

/** A copy of the dev store: `<work>/store` (catalog) beside `<work>/bundles` (a link, or a copy). */
async function storeCopy(bundles: "link" | "copy" = "link"): Promise<string> {
  const work = await tempDir("nx-store-");
  await cp(join(FIXTURES, "store"), join(work, "store"), { recursive: true });
  if (bundles === "link") await symlink(join(FIXTURES, "bundles"), join(work, "bundles"));
  else await cp(join(FIXTURES, "bundles"), join(work, "bundles"), { recursive: true });
  return join(work, "store");
}

async function editCatalog(store: string, from: string, to: string): Promise<void> {
  const path = join(store, "catalog.toml");
  const text = await Deno.readTextFile(path);
  assert.ok(text.includes(from), from);
  await Deno.writeTextFile(path, text.replace(from, to));
}

async function apps(root: string) {
  return (await ok(["pkg", "list"], AppSummaryListSchema, { root })).apps;
}

Deno.test("store catalog lists the signed dev store, from the fixtures or a copy", async () => {
  const dev = await ok(["store", "catalog"], CatalogSchema);
  assert.equal(dev.store, "nx-dev-store");
  assert.deepEqual(dev.skus.map((s) => [s.id, s.grants, s.type, s.days]), [
    ["ledger.pro", undefined, "full", 365],
    ["ledger.trial", "ledger.pro", "trial", 14],
  ]);
  assert.deepEqual(
    await ok(["store", "catalog", "--store", await storeCopy()], CatalogSchema),
    dev,
  );
});

Deno.test("a tampered catalog is store.catalog_invalid for catalog and buy; the root is untouched", async (t) => {
  const tamper: Record<string, (store: string) => Promise<void>> = {
    "a price changed by one byte": (s) => editCatalog(s, 'price = "4.99"', 'price = "4.98"'),
    "a bundle reference changed": (s) =>
      editCatalog(s, 'bundle = "bundles/ledger-1.0.0.nxb"', 'bundle = "bundles/notes-1.0.0.nxb"'),
    "a pinned digest changed": (s) =>
      editCatalog(s, 'bundle_index_sha256 = "1', 'bundle_index_sha256 = "2'),
    "a flipped signature bit": async (s) => {
      const sig = join(s, "catalog.toml.sig");
      const bytes = await Deno.readFile(sig);
      bytes[10] ^= 1;
      await Deno.writeFile(sig, bytes);
    },
    "no signature file": (s) => Deno.remove(join(s, "catalog.toml.sig")),
  };
  for (const [name, change] of Object.entries(tamper)) {
    await t.step(name, async () => {
      const store = await storeCopy();
      await change(store);
      await refused(["store", "catalog", "--store", store], "store.catalog_invalid");
      const { root } = await licensedRoot();
      await unchanged(
        root,
        "",
        () =>
          refused(
            ["store", "buy", "ledger.pro", "--yes", "--store", store],
            "store.catalog_invalid",
            {
              root,
            },
          ),
        false,
      );
    });
  }
});

Deno.test("a bundle swapped under an intact catalog is store.bundle_mismatch before any token", async () => {
  const store = await storeCopy("copy");
  const target = join(store, "..", "bundles", "ledger-1.0.0.nxb");
  await Deno.remove(target, { recursive: true });
  await cp(await ledgerBundle("1.0.1"), target, { recursive: true });
  const { root } = await licensedRoot();
  await unchanged(
    root,
    "",
    () =>
      refused(["store", "buy", "ledger.pro", "--yes", "--store", store], "store.bundle_mismatch", {
        root,
      }),
    false,
  );
});

Deno.test("unknown skus, and refunds or restores of nothing, are refused", async () => {
  const { root } = await licensedRoot();
  await unchanged(root, "", async () => {
    await refused(["store", "buy", "ledger.gold"], "store.unknown_sku", { root });
    await refused(["store", "refund", "ledger.pro"], "entitlement.missing", { root });
    await refused(["store", "restore", "ledger.pro"], "entitlement.missing", { root });
  }, false);
});

Deno.test("buy without --yes and without a TTY only imports, and says which bundle to install", async () => {
  const { root } = await licensedRoot();
  const r = await ok(["store", "buy", "ledger.pro"], StoreBuySchema, { root });
  assert.equal(r.installed, null);
  assert.deepEqual(await apps(root), []);
  assert.ok(r.bundle, "the bundle to install");
  const installed = await ok(["pkg", "install", r.bundle], OpResultSchema, { root });
  assert.equal(installed.toVersion, "1.0.0");
});

Deno.test("the trial offer grants ledger.pro for 14 days, and its refund revokes it", async () => {
  const { root } = await licensedRoot();
  const r = await ok(["store", "buy", "ledger.trial", "--yes"], StoreBuySchema, { root });
  assert.equal(r.installed?.toVersion, "1.0.0");
  const [token] = (await ok(["licensed", "list"], LedgerViewSchema, { root })).tokens;
  assert.deepEqual([token.sku, token.type, token.state], ["ledger.pro", "trial", "active"]);
  const days = (Date.parse(token.expires) - Date.parse(token.notBefore)) / 86_400_000;
  assert.equal(days, 14);
  const refund = await ok(["store", "refund", "ledger.trial"], ImportResultSchema, { root });
  assert.deepEqual(refund.records.map((x) => [x.action, x.tokenId]), [["revoke", token.tokenId]]);
  assert.deepEqual((await apps(root)).map((a) => a.state), ["inactive"]);
});
Deno.test("a replayed older restore cannot undo a newer revocation, in either import order", async (t) => {
  const orders = { "revoke first": [0, 1], "restore first": [1, 0] };
  for (const [name, order] of Object.entries(orders)) {
    await t.step(name, async () => {
      const { root } = await licensedRoot();
      await ok(["store", "buy", "ledger.pro", "--yes"], StoreBuySchema, { root });
      const id = (await ok(["licensed", "list"], LedgerViewSchema, { root })).tokens[0].tokenId;
      const now = nowSeconds();
      const files = [
        await changeFile(id, { issuedAt: now, serial: 10 }),
        await changeFile(id, { action: "restore", issuedAt: now - 100, serial: 11 }),
      ];
      for (const i of order) {
        await ok(["licensed", "import", files[i]], ImportResultSchema, { root });
      }
      const app = async () => (await apps(root))[0];
      const { state, inactiveReason } = await app();
      assert.deepEqual([state, inactiveReason], ["inactive", "entitlement.revoked"]);
      // A restore at the revocation's own (issuedAt, serial) loses too: a revoke wins ties.
      const tie = await changeFile(id, { action: "restore", issuedAt: now, serial: 10 });
      await ok(["licensed", "restore", tie], ImportResultSchema, { root });
      assert.equal((await app()).state, "inactive");
      // A newer restore wins.
      const newer = await changeFile(id, { action: "restore", issuedAt: now + 1, serial: 1 });
      await ok(["licensed", "restore", newer], ImportResultSchema, { root });
      assert.equal((await app()).state, "active");
    });
  }
});

Deno.test("a revocation by another trusted store does not touch a token it did not issue", async () => {
  const { root } = await licensedRoot();
  const rogue = join(KEYS, "rogue.pub");
  await ok(["licensed", "trust", "add", rogue, "--name", "other"], StoreKeyViewSchema, { root });
  await ok(["store", "buy", "ledger.pro", "--yes"], StoreBuySchema, { root });
  const id = (await ok(["licensed", "list"], LedgerViewSchema, { root })).tokens[0].tokenId;
  const r = await ok(
    ["licensed", "revoke", await changeFile(id, {}, seedFor("rogue"))],
    ImportResultSchema,
    { root },
  );
  assert.deepEqual([r.records[0].added, r.apps[0].active], [true, true]);
  const ledger = await ok(["licensed", "list"], LedgerViewSchema, { root });
  assert.deepEqual([ledger.tokens[0].state, ledger.changes[0].applies], ["active", false]);
});
