/**
 * The audit log through the real CLI: entries have ids and say who wrote them, refusals name an
 * app only when there is one, trust and policy changes are recorded; and the trust/policy UX
 * (already-trusted keys, weakening warnings, allowed values, apps of a removed publisher).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, FIXTURES, nx, trustedRoot } from "./helpers.ts";

interface Entry {
  seq: number;
  op: string;
  appId?: string;
  result: string;
  actor?: { uid: number | null; user: string | null; nxVersion: string };
  details?: Record<string, unknown>;
}

async function history(root: string, ...args: string[]): Promise<Entry[]> {
  const r = await nx(["pkg", "history", ...args, "--json"], { root });
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  return r.json?.data.entries;
}

function warnings(stderr: string): string[] {
  return [...stderr.matchAll(/^warning: .*\(([a-z_.]+)\)$/gm)].map((m) => m[1]);
}

const key = (name: string) => join(FIXTURES, "keys", `${name}.pub`);

Deno.test("audit entries have increasing ids, an actor, and name an app only when there is one", async (t) => {
  const root = await trustedRoot(["dev"]);
  const notes = await copyFixture("notes-1.0.0");
  await t.step("a path that is not a bundle is recorded without an app", async () => {
    const r = await nx(["pkg", "install", key("dev"), "--json"], { root });
    assert.equal(r.json?.code, "bundle.not_directory");
  });
  await t.step("an app argument that names no app is recorded without an app", async () => {
    const r = await nx(["pkg", "uninstall", "notse", "--json"], { root });
    assert.equal(r.json?.code, "app.not_installed");
  });
  await t.step("an install and its refused repeat name the app", async () => {
    assert.equal((await nx(["pkg", "install", notes, "--json"], { root })).json?.code, "ok");
    const again = await nx(["pkg", "install", notes, "--json"], { root });
    assert.equal(again.json?.code, "app.already_installed");
  });
  const entries = await history(root);
  await t.step("the log", () => {
    assert.deepEqual(entries.map((e) => [e.op, e.appId, e.result]), [
      ["init", undefined, "ok"],
      ["trust-add", undefined, "ok"],
      ["install", undefined, "bundle.not_directory"],
      ["uninstall", undefined, "app.not_installed"],
      ["install", "notes", "ok"],
      ["install", "notes", "app.already_installed"],
    ]);
    assert.deepEqual(entries[2].details, { bundle: key("dev") });
    assert.deepEqual(entries[3].details, { app: "notse" });
    for (let i = 1; i < entries.length; i++) assert.ok(entries[i].seq > entries[i - 1].seq);
    for (const e of entries) {
      assert.equal(e.actor?.uid, Deno.uid());
      assert.equal(typeof e.actor?.nxVersion, "string");
    }
    assert.deepEqual(entries[1].details?.publisher, entries[1].details?.keyId);
  });
  await t.step("history APP lists no typo as an app", async () => {
    assert.deepEqual(await history(root, "notse"), []);
    assert.deepEqual(await history(root, "README"), []);
    assert.equal((await history(root, "notes")).length, 2);
  });
  await t.step("history --id N shows one entry in full", async () => {
    const one = await history(root, "--id", String(entries[3].seq));
    assert.deepEqual(one, [entries[3]]);
    const human = await nx(["pkg", "history", "--id", String(entries[3].seq)], { root });
    assert.match(human.stdout, /^id: +\d+$/m);
    assert.match(human.stdout, /^by: +.+nx /m);
    assert.match(human.stdout, /^ {2}app: +notse$/m);
    const list = await nx(["pkg", "history"], { root });
    assert.match(list.stdout, /^id +time +op +app +from +to +result +by$/m);
  });
  await t.step("an unknown id is audit.not_found; --id with an app is a usage error", async () => {
    const r = await nx(["pkg", "history", "--id", "999", "--json"], { root });
    assert.equal(r.json?.code, "audit.not_found");
    assert.equal(r.code, 2);
    const both = await nx(["pkg", "history", "notes", "--id", "1", "--json"], { root });
    assert.equal(both.json?.code, "usage.invalid_argument");
  });
});

Deno.test("policy set lists what a key takes, warns when it weakens the root, and records the change", async (t) => {
  const root = await trustedRoot(["dev"]);
  const cases: [string, string, string][] = [
    ["mode", "strik", "one of strict, permissive, audit-only"],
    ["dev-mode", "maybe", "on or off"],
    ["retain-versions", "99", "an integer from 0 to 16"],
    ["app-quota-mib", "-1", "an integer of at least 0"],
  ];
  for (const [k, v, allowed] of cases) {
    await t.step(`${k} ${v}`, async () => {
      const r = await nx(["pkg", "policy", "set", k, v, "--json"], { root });
      assert.equal(r.json?.code, "usage.invalid_argument");
      assert.equal(r.json?.data?.details?.allowed, allowed);
      assert.ok(r.json?.message.includes(allowed));
    });
  }
  const before = (await history(root)).length;
  await t.step("weakening changes warn policy.weakened", async () => {
    for (const [k, v] of [["mode", "permissive"], ["dev-mode", "on"], ["root-role", "user"]]) {
      const r = await nx(["pkg", "policy", "set", k, v], { root });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(warnings(r.stderr), k === "root-role" ? [] : ["policy.weakened"], k);
    }
    const back = await nx(["pkg", "policy", "set", "root-role", "system"], { root });
    assert.deepEqual(warnings(back.stderr), ["policy.weakened"]);
  });
  await t.step("setting the value in force changes and records nothing", async () => {
    const r = await nx(["pkg", "policy", "set", "dev-mode", "on"], { root });
    assert.deepEqual(warnings(r.stderr), []);
  });
  await t.step("each change is one policy-set entry with from and to", async () => {
    const added = (await history(root)).slice(before);
    assert.deepEqual(added.map((e) => [e.op, e.details?.key, e.details?.from, e.details?.to]), [
      ["policy-set", "mode", "strict", "permissive"],
      ["policy-set", "dev-mode", "off", "on"],
      ["policy-set", "root-role", "system", "user"],
      ["policy-set", "root-role", "user", "system"],
    ]);
    assert.deepEqual(added.map((e) => e.details?.weakened === true), [true, true, false, true]);
  });
});

Deno.test("trust add never renames silently; trust remove names the apps left behind", async (t) => {
  const root = await trustedRoot(["dev"]);
  const list = async () =>
    (await nx(["pkg", "trust", "list", "--json"], { root })).json?.data.publishers;
  const start = await list();
  await t.step("the same key again is a no-op with a warning", async () => {
    const r = await nx(["pkg", "trust", "add", key("dev"), "--name", "dev"], { root });
    assert.equal(r.code, 0);
    assert.deepEqual(warnings(r.stderr), ["policy.already_trusted"]);
    assert.deepEqual(await list(), start);
  });
  await t.step("another --name is refused with policy.already_trusted", async () => {
    const r = await nx(["pkg", "trust", "add", key("dev"), "--name", "renamed", "--json"], {
      root,
    });
    assert.equal(r.json?.code, "policy.already_trusted");
    assert.equal(r.code, 2);
    assert.equal(r.json?.data?.details?.name, "dev");
    assert.ok(r.json?.data?.hint);
    assert.deepEqual(await list(), start);
  });
  await t.step("a key another publisher holds is refused", async () => {
    await nx(["pkg", "trust", "add", key("store"), "--name", "store"], { root });
    const devId = start[0].id;
    const r = await nx(["pkg", "trust", "add", key("store"), "--publisher", devId, "--json"], {
      root,
    });
    assert.equal(r.json?.code, "policy.duplicate_publisher");
  });
  await t.step("--disabled disables; adding it again enables it and warns", async () => {
    const off = await nx(["pkg", "trust", "add", key("store"), "--disabled", "--json"], { root });
    assert.equal(off.json?.data?.enabled, false);
    const on = await nx(["pkg", "trust", "add", key("store")], { root });
    assert.deepEqual(warnings(on.stderr), ["policy.weakened"]);
  });
  await t.step("trust remove of a publisher with installed apps names them", async () => {
    const notes = await copyFixture("notes-1.0.0");
    assert.equal((await nx(["pkg", "install", notes, "--json"], { root })).json?.code, "ok");
    const r = await nx(["pkg", "trust", "remove", "dev"], { root });
    assert.equal(r.code, 0);
    assert.deepEqual(warnings(r.stderr), ["policy.publisher_in_use"]);
    assert.match(r.stderr, /: notes \(policy\.publisher_in_use\)$/m);
    const entries = await history(root);
    const last = entries.at(-1)!;
    assert.equal(last.op, "trust-remove");
    assert.deepEqual(last.details?.apps, ["notes"]);
  });
  await t.step("trust remove of an unknown id lists the trusted ones", async () => {
    const r = await nx(["pkg", "trust", "remove", "nobody", "--json"], { root });
    assert.equal(r.json?.code, "policy.publisher_unknown");
    assert.match(r.json?.data?.hint ?? "", /trusted: /);
  });
});
