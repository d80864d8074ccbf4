/**
 * The paid fixture's whole life on a local root through the real CLI: denied without an
 * entitlement (nothing written, the refusal audited), bought, installed, launched, refunded
 * (inactive everywhere: list, info, query, launch, upgrade; uninstall allowed), restored, and
 * made active again by a new token. Every `--json` success parses with its result schema.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AppInfoSchema,
  EntitlementStatusSchema,
  ImportResultSchema,
  LaunchResultSchema,
  LedgerViewSchema,
  OpResultSchema,
  StoreKeyViewSchema,
} from "../core/api/mod.ts";
import {
  AppSummaryListSchema,
  AuditEntryListSchema,
  QueryHitListSchema,
} from "../core/protocol/mod.ts";
import { nx, snapshotTree, trustedRoot } from "./helpers.ts";
import {
  changeFile,
  KEYS,
  LEDGER,
  ledgerBundle,
  licensedRoot,
  ok,
  refused,
  tokenFile,
  unchanged,
} from "./_licensed.ts";
import { StoreBuySchema, StoreKeyListSchema } from "../core/protocol/mod.ts";

const DENY = "pkgr: deny entitlement app=ledger sku=ledger.pro";

async function appsOf(root: string) {
  return (await ok(["pkg", "list"], AppSummaryListSchema, { root })).apps;
}

async function launches(root: string): Promise<string> {
  return await Deno.readTextFile(join(root, "apps/ledger/data/1.0.0/launches.log")).catch(
    () => "",
  );
}

Deno.test("install of the paid app without an entitlement is denied and writes nothing", async () => {
  const { root } = await licensedRoot();
  const listBefore = await appsOf(root);
  const r = await unchanged(
    root,
    "entitlement.missing",
    () => refused(["pkg", "install", LEDGER, "--markers"], "entitlement.missing", { root }),
  );
  assert.ok(r.stderr.split("\n").includes(DENY), r.stderr);
  assert.deepEqual(await appsOf(root), listBefore);
  assert.deepEqual(listBefore, []);
  const history = await ok(["pkg", "history"], AuditEntryListSchema, { root });
  const last = history.entries.at(-1)!;
  assert.deepEqual([last.op, last.appId, last.result], [
    "install",
    "ledger",
    "entitlement.missing",
  ]);
});

Deno.test("a root without a device key is denied too, and the denial makes no device key", async () => {
  const root = await trustedRoot(["store"]);
  await refused(["pkg", "install", LEDGER], "entitlement.missing", { root });
  assert.equal((await snapshotTree(root)).has("pkg/device.key"), false);
  const ledger = await ok(["licensed", "list"], LedgerViewSchema, { root });
  assert.equal(ledger.device, null);
});

Deno.test("buy → install → launch → refund (inactive) → restore → a new token", async (t) => {
  const { root, device } = await licensedRoot();
  const opts = { root };

  await t.step("buy --yes imports a token and installs", async () => {
    const r = await nx(["store", "buy", "ledger.pro", "--yes", "--markers", "--json"], opts);
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    const data = StoreBuySchema.parse(r.json?.data);
    assert.equal(data.imported.device, device);
    assert.deepEqual(data.imported.records.map((x) => [x.kind, x.added]), [["entitlement", true]]);
    assert.equal(data.installed?.toVersion, "1.0.0");
    const lines = r.stderr.split("\n");
    assert.ok(lines.includes("ui: store buy app=ledger sku=ledger.pro"), r.stderr);
    assert.ok(lines.includes("pkgr: install app=ledger v=1.0.0"), r.stderr);
    const [app] = await appsOf(root);
    assert.deepEqual([app.id, app.state, app.inactiveReason], ["ledger", "active", undefined]);
  });

  await t.step("launch runs the payload in the data directory", async () => {
    // --root before `--`: what follows it is the program's.
    const r = await nx(["pkg", "launch", "ledger", "--root", root, "--markers", "--", "a", "b"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ledger 1.0.0: hello a b\n");
    assert.ok(r.stderr.split("\n").includes("pkgr: launch app=ledger v=1.0.0"), r.stderr);
    assert.equal(await launches(root), "ledger 1.0.0 launched a b\n");
    const check = await ok(["pkg", "launch", "--check", "ledger"], LaunchResultSchema, opts);
    assert.equal(check.launched, false);
    assert.equal(await launches(root), "ledger 1.0.0 launched a b\n", "--check ran nothing");
  });

  await t.step("launch --json prints one envelope (the program's output inside it)", async () => {
    const r = await nx(["pkg", "launch", "ledger", "--json"], opts);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trim().split("\n").length,
      1,
      `stdout is not one envelope:\n${r.stdout}`,
    );
    const data = LaunchResultSchema.parse(r.json?.data);
    assert.deepEqual([data.launched, data.exitCode, data.stdout], [
      true,
      0,
      "ledger 1.0.0: hello\n",
    ]);
  });

  await t.step("refund turns the app inactive everywhere", async () => {
    const r = await nx(["store", "refund", "ledger.pro", "--markers", "--json"], opts);
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    const imported = ImportResultSchema.parse(r.json?.data);
    assert.deepEqual(imported.records.map((x) => x.action), ["revoke"]);
    assert.deepEqual([imported.apps[0].active, imported.apps[0].code], [
      false,
      "entitlement.revoked",
    ]);
    assert.ok(r.stderr.split("\n").includes("ui: store refund app=ledger sku=ledger.pro"));
    const [app] = await appsOf(root);
    assert.deepEqual([app.state, app.inactiveReason], ["inactive", "entitlement.revoked"]);
    const info = await ok(["pkg", "info", "ledger"], AppInfoSchema, opts);
    assert.deepEqual([info.state, info.inactiveReason], ["inactive", "entitlement.revoked"]);
    const q = await ok(["pkg", "query", "--ability", "ledger.open"], QueryHitListSchema, opts);
    assert.deepEqual(q.hits.map((h) => [h.appId, h.launchable]), [["ledger", false]]);
    const status = await ok(["licensed", "status", "ledger"], EntitlementStatusSchema, opts);
    assert.deepEqual([status.active, status.code, status.token?.state], [
      false,
      "entitlement.revoked",
      "revoked",
    ]);
  });

  await t.step("launch and launch --check are refused app.inactive", async () => {
    const before = await launches(root);
    for (const args of [["ledger"], ["--check", "ledger"]]) {
      const r = await refused(["pkg", "launch", ...args, "--markers"], "app.inactive", opts);
      assert.equal(r.json?.data?.details?.reason, "entitlement.revoked");
      assert.ok(r.stderr.split("\n").includes(DENY), r.stderr);
    }
    assert.equal(await launches(root), before, "a refused launch ran the program");
  });

  await t.step("upgrade of the inactive app is refused (paid or free bundle)", async () => {
    for (const bundle of [await ledgerBundle("1.0.1"), await ledgerBundle("1.0.1", null)]) {
      await unchanged(
        root,
        "app.inactive",
        () => refused(["pkg", "upgrade", bundle], "app.inactive", opts),
      );
    }
  });

  await t.step("restore makes it active: it launches again", async () => {
    const r = await ok(["store", "restore", "ledger.pro"], ImportResultSchema, opts);
    assert.equal(r.apps[0].active, true);
    const [app] = await appsOf(root);
    assert.equal(app.state, "active");
    assert.equal((await nx(["pkg", "launch", "ledger"], opts)).code, 0);
  });

  await t.step("after a second refund, a new valid token makes it active again", async () => {
    await ok(["store", "refund", "ledger.pro"], ImportResultSchema, opts);
    assert.equal((await appsOf(root))[0].state, "inactive");
    const fresh = await tokenFile(device, { meta: [{ key: "order", value: "2" }] });
    const r = await ok(["licensed", "import", fresh.path], ImportResultSchema, opts);
    assert.deepEqual([r.records[0].added, r.apps[0].active], [true, true]);
    assert.equal((await appsOf(root))[0].state, "active");
    assert.equal((await nx(["pkg", "launch", "--check", "ledger"], opts)).code, 0);
  });
});

Deno.test("an active paid app upgrades; once inactive it still uninstalls", async () => {
  const { root } = await licensedRoot();
  const opts = { root };
  await ok(["store", "buy", "ledger.pro", "--yes"], StoreBuySchema, opts);
  const up = await ok(["pkg", "upgrade", await ledgerBundle("1.0.1")], OpResultSchema, opts);
  assert.equal(up.toVersion, "1.0.1");
  await ok(["store", "refund", "ledger.pro"], ImportResultSchema, opts);
  const gone = await ok(["pkg", "uninstall", "ledger"], OpResultSchema, opts);
  assert.equal(gone.toVersion, null);
  assert.deepEqual(await appsOf(root), []);
  // The ledger outlives the app: a reinstall is denied with the revocation's code.
  await refused(["pkg", "install", LEDGER], "entitlement.revoked", opts);
});

Deno.test("the same token or revocation imported twice: the second is a no-op", async () => {
  const { root, device } = await licensedRoot();
  const token = await tokenFile(device);
  const revoke = await changeFile(token.tokenId);
  for (const file of [token.path, revoke]) {
    const first = await ok(["licensed", "import", file], ImportResultSchema, { root });
    assert.deepEqual(first.records.map((x) => x.added), [true]);
    const again = await unchanged(
      root,
      "",
      () => ok(["licensed", "import", file], ImportResultSchema, { root }),
      false,
    );
    assert.deepEqual(again.records.map((x) => x.added), [false]);
  }
  const ledger = await ok(["licensed", "list"], LedgerViewSchema, { root });
  assert.deepEqual([ledger.tokens.length, ledger.changes.length], [1, 1]);
});

Deno.test("a revocation imported before its token applies when the token arrives", async () => {
  const { root, device } = await licensedRoot();
  const token = await tokenFile(device);
  await ok(["licensed", "revoke", await changeFile(token.tokenId)], ImportResultSchema, { root });
  const early = await ok(["licensed", "list"], LedgerViewSchema, { root });
  assert.deepEqual([early.tokens.length, early.changes[0].applies], [0, false]);
  const r = await ok(["licensed", "import", token.path], ImportResultSchema, { root });
  assert.deepEqual([r.apps[0].active, r.apps[0].code], [false, "entitlement.revoked"]);
  const late = await ok(["licensed", "list"], LedgerViewSchema, { root });
  assert.deepEqual([late.tokens[0].state, late.changes[0].applies], ["revoked", true]);
  await refused(["pkg", "install", LEDGER], "entitlement.revoked", { root });
});

Deno.test("revoke and restore take only their own kind of file (usage errors)", async () => {
  const { root, device } = await licensedRoot();
  const token = await tokenFile(device);
  const restore = await changeFile(token.tokenId, { action: "restore" });
  await unchanged(root, "", async () => {
    await refused(["licensed", "revoke", token.path], "usage.invalid_argument", { root });
    await refused(["licensed", "revoke", restore], "usage.invalid_argument", { root });
    await refused(["licensed", "restore", token.path], "usage.invalid_argument", { root });
  }, false);
});

Deno.test("trust admin: add twice, remove unknown, and what removing a store key does", async () => {
  const { root, device } = await licensedRoot();
  const opts = { root };
  const pub = join(KEYS, "licensing.pub");
  const before = await ok(["licensed", "trust", "list"], StoreKeyListSchema, opts);
  assert.equal(before.stores.length, 1);
  await refused(["licensed", "trust", "add", pub], "entitlement.store_already_trusted", opts);
  await refused(
    ["licensed", "trust", "remove", "0".repeat(32)],
    "entitlement.store_not_trusted",
    opts,
  );
  assert.deepEqual(await ok(["licensed", "trust", "list"], StoreKeyListSchema, opts), before);

  await ok(["store", "buy", "ledger.pro", "--yes"], StoreBuySchema, opts);
  const held = (await ok(["licensed", "list"], LedgerViewSchema, opts)).tokens[0];
  const removed = await ok(
    ["licensed", "trust", "remove", before.stores[0].id],
    StoreKeyViewSchema,
    opts,
  );
  assert.equal(removed.id, before.stores[0].id);
  // New records of that store are refused, tokens and revocations alike.
  await refused(
    ["licensed", "import", (await tokenFile(device)).path],
    "entitlement.untrusted_key",
    opts,
  );
  const revoke = await changeFile(held.tokenId);
  await refused(["licensed", "revoke", revoke], "entitlement.untrusted_key", opts);
  // The store is no longer trusted: the tokens it signed stop counting (docs/licensing.md).
  const [withdrawn] = await appsOf(root);
  assert.deepEqual([withdrawn.state, withdrawn.inactiveReason], [
    "inactive",
    "entitlement.missing",
  ]);
  await refused(["pkg", "launch", "--check", "ledger"], "app.inactive", opts);
  // Trusted again: the token counts again; then the revocation imports and applies.
  await ok(["licensed", "trust", "add", pub], StoreKeyViewSchema, opts);
  assert.equal((await appsOf(root))[0].state, "active");
  await ok(["licensed", "revoke", revoke], ImportResultSchema, opts);
  assert.equal((await appsOf(root))[0].state, "inactive");
});
