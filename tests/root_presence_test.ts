/**
 * A root is created only by a command that means to (`init`, the first `trust add`, the first
 * install that succeeds); every other command on a missing root says `root.not_found` and creates
 * nothing — not even the parent directories of a mistyped `--root`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, FIXTURES, nx, tempDir, trustedRoot } from "./helpers.ts";

async function entries(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

const DEV_PUB = join(FIXTURES, "keys", "dev.pub");

Deno.test("every command but init, trust add and a first install refuses a missing root and creates nothing", async (t) => {
  const base = await tempDir();
  const root = join(base, "no", "such", "root");
  const bundle = await copyFixture("notes-1.0.0");
  const cases: string[][] = [
    ["pkg", "list"],
    ["pkg", "info", "notes"],
    ["pkg", "history"],
    ["pkg", "history", "--id", "1"],
    ["pkg", "query", "--ability", "notes.open"],
    ["pkg", "doctor"],
    ["pkg", "doctor", "--repair"],
    ["pkg", "upgrade", bundle],
    ["pkg", "rollback", "notes"],
    ["pkg", "uninstall", "notes"],
    ["pkg", "trust", "list"],
    ["pkg", "trust", "remove", "dev"],
    ["pkg", "policy", "show"],
    ["pkg", "policy", "set", "dev-mode", "on"],
  ];
  for (const argv of cases) {
    await t.step(argv.slice(1).join(" "), async () => {
      const r = await nx([...argv, "--json"], { root });
      assert.equal(r.json?.code, "root.not_found", r.stdout + r.stderr);
      assert.equal(r.code, 2);
      assert.equal(r.json?.data?.details?.root, root);
      assert.match(r.json?.data?.hint ?? "", /nx pkg init --root/);
      assert.deepEqual(await entries(base), [], "nothing was created");
    });
  }
  await t.step("human output says so, not 'no apps installed'", async () => {
    const r = await nx(["pkg", "list"], { root });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /\[root\.not_found\]/);
    assert.doesNotMatch(r.stderr + r.stdout, /no apps installed/);
  });
  await t.step("a bad policy value is reported before the missing root", async () => {
    const r = await nx(["pkg", "policy", "set", "mode", "strik", "--json"], { root });
    assert.equal(r.json?.code, "usage.invalid_argument");
    assert.deepEqual(r.json?.data?.details?.allowed, "one of strict, permissive, audit-only");
    assert.deepEqual(await entries(base), []);
  });
  await t.step("verify and inspect need no root and create none", async () => {
    const v = await nx(["pkg", "verify", bundle, "--json"], { root });
    assert.equal(v.json?.code, "policy.publisher_unknown");
    const i = await nx(["pkg", "inspect", bundle, "--json"], { root });
    assert.equal(i.json?.code, "ok");
    assert.equal(i.json?.data?.verified, false);
    assert.deepEqual(await entries(base), []);
  });
});

Deno.test("install on a missing root: a refusal, a failure and a dry run leave no root", async (t) => {
  const base = await tempDir();
  const root = join(base, "fresh", "root");
  const notes = await copyFixture("notes-1.0.0");
  await t.step("not a bundle (bundle.not_directory)", async () => {
    const r = await nx(["pkg", "install", join(FIXTURES, "keys", "dev.pub"), "--json"], { root });
    assert.equal(r.json?.code, "bundle.not_directory");
    assert.deepEqual(await entries(base), []);
  });
  await t.step("an untrusted publisher: the hint names it and the command to run", async () => {
    const r = await nx(["pkg", "install", notes, "--json"], { root });
    assert.equal(r.json?.code, "policy.publisher_unknown");
    const { details, hint } = r.json?.data ?? {};
    assert.equal(typeof details?.publisher, "string");
    assert.equal(details?.keyId, details?.publisher, "the fixture key signs as its own id");
    assert.ok(hint.includes(details.publisher), hint);
    assert.ok(hint.includes(`nx pkg trust add <${details.publisher}>.pub --root ${root}`), hint);
    assert.ok(hint.includes(`nx pkg inspect ${notes}`), hint);
    assert.deepEqual(await entries(base), [], "the root made for the attempt is gone");
  });
  await t.step("a dry run of a bundle the default policy refuses", async () => {
    const r = await nx(["pkg", "install", notes, "--dry-run", "--json"], { root });
    assert.equal(r.json?.code, "policy.publisher_unknown");
    assert.deepEqual(await entries(base), []);
  });
});

Deno.test("a failed first install on a root only trust add made leaves that root as it was", async () => {
  const root = await trustedRoot(["dev"]);
  const notes = await copyFixture("notes-1.0.0");
  const before = await entries(join(root, "apps"));
  const r = await nx(["pkg", "install", notes, "--json"], {
    root,
    env: { NX_FAULT: "fail:stage-version" },
  });
  assert.equal(r.json?.code, "fault.injected", r.stdout);
  assert.deepEqual(await entries(join(root, "apps")), before);
  const ok = await nx(["pkg", "install", notes, "--json"], { root });
  assert.equal(ok.json?.code, "ok", ok.stdout);
});

Deno.test("nx pkg init creates the root once, says the next step, and is idempotent", async () => {
  const base = await tempDir();
  const root = join(base, "a", "root");
  const first = await nx(["pkg", "init", "--json"], { root });
  assert.equal(first.json?.code, "ok", first.stdout + first.stderr);
  assert.deepEqual(first.json?.data, { root, created: true, publishers: 0 });
  assert.deepEqual(await entries(root), ["apps", "pkg"]);
  const again = await nx(["pkg", "init"], { root });
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already exists/);
  assert.match(again.stdout, /next: .*nx pkg trust add/);
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.deepEqual(list.json?.data, { apps: [] });
  const history = await nx(["pkg", "history", "--json"], { root });
  assert.deepEqual(history.json?.data.entries.map((e: { op: string }) => e.op), ["init"]);
  const trust = await nx(["pkg", "trust", "add", DEV_PUB, "--json"], { root });
  assert.equal(trust.json?.code, "ok");
  const after = await nx(["pkg", "init", "--json"], { root });
  assert.deepEqual(after.json?.data, { root, created: false, publishers: 1 });
});

Deno.test("trust add creates a missing root; one it cannot finish leaves none", async () => {
  const base = await tempDir();
  const root = join(base, "new", "root");
  const rotation = await nx([
    "pkg",
    "trust",
    "add",
    DEV_PUB,
    "--publisher",
    "a".repeat(32),
    "--json",
  ], { root });
  assert.equal(rotation.json?.code, "policy.publisher_unknown");
  assert.deepEqual(await entries(base), []);
  const add = await nx(["pkg", "trust", "add", DEV_PUB, "--json"], { root });
  assert.equal(add.json?.code, "ok");
  const history = await nx(["pkg", "history", "--json"], { root });
  assert.deepEqual(history.json?.data.entries.map((e: { op: string }) => e.op), [
    "init",
    "trust-add",
  ]);
});
