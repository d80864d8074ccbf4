/**
 * The licensing verbs through a real `nx agent` (`--transport`): the gate runs on the agent,
 * against the agent's ledger and device — a token for another device is refused there — and
 * the host's own root is never created. The program a launch runs writes the agent's data; its
 * output comes back and the host prints it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  DeviceViewSchema,
  EntitlementStatusSchema,
  ImportResultSchema,
  LaunchResultSchema,
  LedgerViewSchema,
  StoreKeyViewSchema,
} from "../core/api/mod.ts";
import { nx, tempDir, trustedRoot } from "./helpers.ts";
import { Agent, authorizedKeys, type Host, newHost } from "./_agent.ts";
import { KEYS, licensedRoot, ok, refused, tokenFile } from "./_licensed.ts";

const DENY = "pkgr: deny entitlement app=ledger sku=ledger.pro";

Deno.test("licensed, store and launch verbs run on the agent's ledger and device", async (t) => {
  const base = await newHost();
  const hostRoot = join(await tempDir("nx-host-root-"), "root");
  // The host's default root: nothing may ever be written there.
  const host: Host = { ...base, env: { ...base.env, NX_ROOT: hostRoot } };
  const { root, device } = await licensedRoot();
  await using agent = await Agent.start({ root, authorizedKeys: await authorizedKeys([host]) });
  const via = ["--transport", agent.address, "--identity", host.key];
  const on = { env: host.env };
  const run = (args: string[]) => nx([...args, ...via], on);
  const log = async (mark: number) => (await agent.sync(), agent.since(mark));
  const launches = () =>
    Deno.readTextFile(join(root, "apps/ledger/data/1.0.0/launches.log")).catch(() => "");

  await t.step("device is the agent root's", async () => {
    const d = await ok(["licensed", "device", ...via], DeviceViewSchema, on);
    assert.deepEqual(d, { fingerprint: device, created: false });
  });

  await t.step("install without an entitlement is denied on the agent", async () => {
    const mark = agent.mark();
    await refused(
      ["pkg", "install", join(KEYS, "..", "bundles", "ledger-1.0.0.nxb"), ...via],
      "entitlement.missing",
      on,
    );
    assert.ok((await log(mark)).includes(DENY));
  });

  await t.step("store buy --yes: a token for the agent's device, installed there", async () => {
    const mark = agent.mark();
    const r = await run(["store", "buy", "ledger.pro", "--yes", "--json"]);
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    assert.equal(r.json?.data.imported.device, device);
    assert.equal(r.json?.data.installed.toVersion, "1.0.0");
    assert.ok((await log(mark)).includes("pkgr: install app=ledger v=1.0.0"));
  });

  await t.step("launch: the agent runs it, the host prints its output", async () => {
    const mark = agent.mark();
    const r = await nx(["pkg", "launch", "ledger", ...via, "--", "over", "wire"], on);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "ledger 1.0.0: hello over wire\n");
    assert.equal(await launches(), "ledger 1.0.0 launched over wire\n");
    assert.ok((await log(mark)).includes("pkgr: launch app=ledger v=1.0.0"));
    const j = await ok(["pkg", "launch", "ledger", ...via], LaunchResultSchema, on);
    assert.deepEqual([j.launched, j.exitCode, j.stdout], [true, 0, "ledger 1.0.0: hello\n"]);
  });

  await t.step("refund: launch and launch --check refused on the agent", async () => {
    const r = await ok(["store", "refund", "ledger.pro", ...via], ImportResultSchema, on);
    assert.deepEqual([r.apps[0].active, r.apps[0].code], [false, "entitlement.revoked"]);
    const before = await launches();
    const mark = agent.mark();
    await refused(["pkg", "launch", "ledger", ...via], "app.inactive", on);
    await refused(["pkg", "launch", "--check", "ledger", ...via], "app.inactive", on);
    assert.ok((await log(mark)).includes(DENY));
    assert.equal(await launches(), before);
  });

  await t.step("restore, then a new token: status and list read the agent's ledger", async () => {
    await ok(["store", "restore", "ledger.pro", ...via], ImportResultSchema, on);
    const token = await tokenFile(device, { meta: [{ key: "order", value: "agent" }] });
    const r = await ok(["licensed", "import", token.path, ...via], ImportResultSchema, on);
    assert.deepEqual([r.device, r.records[0].added, r.apps[0].active], [device, true, true]);
    const s = await ok(["licensed", "status", "ledger", ...via], EntitlementStatusSchema, on);
    assert.deepEqual([s.version, s.active], ["1.0.0", true]);
    const ledger = await ok(["licensed", "list", ...via], LedgerViewSchema, on);
    assert.equal(ledger.device, device);
    assert.equal(ledger.tokens.length, 2);
    assert.deepEqual(ledger, await ok(["licensed", "list"], LedgerViewSchema, { root }));
  });

  await t.step("a token for another root's device is refused by the agent", async () => {
    const other = await trustedRoot(["store"]);
    const elsewhere = await ok(["licensed", "device"], DeviceViewSchema, { root: other });
    assert.notEqual(elsewhere.fingerprint, device);
    const token = await tokenFile(elsewhere.fingerprint);
    await refused(["licensed", "import", token.path, ...via], "entitlement.wrong_device", on);
    // ...while it imports on the root it was issued for, once that root trusts the store.
    const pub = join(KEYS, "licensing.pub");
    await ok(["licensed", "trust", "add", pub], StoreKeyViewSchema, { root: other });
    await ok(["licensed", "import", token.path], ImportResultSchema, { root: other });
  });

  await t.step("store trust changes need --allow-admin on the agent", async () => {
    await refused(["licensed", "trust", "remove", "0".repeat(32), ...via], "agent.forbidden", on);
  });

  await t.step("the host's own root was never created", async () => {
    await assert.rejects(Deno.stat(hostRoot), Deno.errors.NotFound);
  });
});
