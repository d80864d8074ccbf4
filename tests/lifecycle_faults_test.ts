/**
 * Failure handling of the lifecycle through the real CLI: injected step failures, ENOSPC and
 * EIO, two writers, a stale lock, a corrupt registry or journal, readers while a writer runs.
 * Every refused or failed operation leaves the apps tree and the registry's app view unchanged.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, nx, snapshotTree, stoppedAt, tempDir } from "./helpers.ts";
import { auditLog, cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";

Deno.test("a failure injected at any upgrade step is undone and reported with its code", async (t) => {
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(base));
  // The plan's own steps, so a step the planner gains is failed at too.
  const dry = await nx(
    ["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--dry-run", "--json"],
    {
      root: await cloneRoot(base),
    },
  );
  const steps: string[] = dry.json?.data.steps.map((s: { kind: string }) => s.kind);
  assert.ok(steps.includes("run-migrations") && steps.includes("commit-registry"), dry.stdout);
  for (const step of steps) {
    await t.step(`fail at ${step}`, async () => {
      const root = await cloneRoot(base);
      const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], {
        root,
        env: { NX_FAULT: `fail:${step}` },
      });
      assert.equal(r.json?.code, "fault.injected", r.stdout);
      assert.equal(r.code, 5);
      assert.equal(await observe(root), old);
      assert.equal(
        (await snapshotTree(join(root, "pkg", "staging"))).size,
        0,
        "staging left behind",
      );
      await doctorClean(root);
    });
  }
});

Deno.test("ENOSPC and EIO during staging fail cleanly with io codes", async (t) => {
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(base));
  const cases: [string, string][] = [
    ["enospc:write:staging", "io.no_space"],
    ["eio:fsync:staging", "io.failed"],
    ["enospc:write:journal", "io.no_space"],
  ];
  for (const [fault, code] of cases) {
    await t.step(fault, async () => {
      const root = await cloneRoot(base);
      const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], {
        root,
        env: { NX_FAULT: fault },
      });
      assert.equal(r.json?.code, code, r.stdout);
      assert.equal(await observe(root), old);
      await doctorClean(root);
    });
  }
});

/** Starts a writer that pauses inside its transaction (delay fault), returns its process. */
Deno.test("a second writer gets lock.busy; readers neither block nor see a half state", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const before = await nx(["pkg", "list", "--json"], { root });
  // Frozen before switch-current until the checks below are done: no timing involved.
  const writer = await stoppedAt(
    "switch-current",
    ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    root,
  );
  const second = await nx(["pkg", "uninstall", "notes", "--json"], { root });
  assert.equal(second.json?.code, "lock.busy", second.stdout);
  const during = await nx(["pkg", "list", "--json"], { root });
  assert.equal(during.code, 0);
  // The last committed version, marked pending while the transaction runs.
  const [app] = during.json?.data.apps;
  assert.deepEqual(
    { ...app, state: "active" },
    before.json?.data.apps[0],
    "a reader saw uncommitted state",
  );
  assert.equal(app.state, "pending");
  // info says the same of the app: its last committed version, pending.
  const info = await nx(["pkg", "info", "notes", "--json"], { root });
  assert.equal(info.code, 0, info.stdout);
  assert.deepEqual([info.json?.data.state, info.json?.data.version], ["pending", "1.0.0"]);
  writer.child.kill("SIGCONT");
  const status = await writer.output;
  assert.equal(status.code, 0, new TextDecoder().decode(status.stdout));
  const after = await nx(["pkg", "info", "notes", "--json"], { root });
  assert.equal(after.json?.data.version, "1.1.0");
  await doctorClean(root);
});

Deno.test("a lock left by a killed writer is taken over and its transaction undone", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(root));
  // Frozen before publish-version, the journal holds the plan and begun steps: a kill there
  // always leaves a transaction to undo (a kill timed by the journal file's mere existence could
  // land before its header was written, leaving nothing to recover).
  const writer = await stoppedAt(
    "publish-version",
    ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    root,
  );
  writer.child.kill("SIGKILL");
  await writer.output;
  assert.match(await Deno.readTextFile(join(root, "pkg", "lock")), /^pid=\d+/);
  // The next writer takes the lock over and undoes the killed transaction before its own, which
  // fails at its first step and is undone too: what is left is exactly the recovered state.
  const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], {
    root,
    env: { NX_FAULT: "fail:stage-version" },
  });
  assert.equal(r.json?.code, "fault.injected", r.stdout);
  assert.match(r.stderr, /recovered an interrupted upgrade of notes: rolled-back/);
  assert.doesNotMatch(r.stderr, /stale lock/, "a recovered lock is reported as the recovery");
  assert.equal(await observe(root), old, "the killed upgrade was not undone");
  await doctorClean(root);
  const again = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], { root });
  assert.equal(again.json?.code, "ok", again.stdout);
  assert.doesNotMatch(again.stderr, /recovered|stale lock/, "nothing was left to recover");
});

Deno.test("reads of a missing root say so and create nothing", async () => {
  const root = join(await tempDir(), "root");
  for (const args of [["pkg", "list"], ["pkg", "history"], ["pkg", "query", "--ability", "x"]]) {
    const r = await nx([...args, "--json"], { root });
    assert.equal(r.json?.code, "root.not_found", r.stdout);
  }
  await assert.rejects(Deno.lstat(root), Deno.errors.NotFound);
});

Deno.test("a corrupt registry file is reported as registry.corrupt and never overwritten", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const db = join(root, "pkg", "registry.db");
  for (const f of [db, `${db}-wal`, `${db}-shm`]) await Deno.remove(f).catch(() => {});
  await Deno.writeTextFile(db, "this is not a database ".repeat(200));
  const before = await Deno.readFile(db);
  for (const args of [["pkg", "list"], ["pkg", "install", await copyFixture("textkit-1.0.0")]]) {
    const r = await nx([...args, "--json"], { root });
    assert.equal(r.json?.code, "registry.corrupt", r.stdout);
    assert.equal(r.code, 5);
  }
  assert.deepEqual(await Deno.readFile(db), before);
});

Deno.test("an unreadable journal stops writers until doctor --repair moves it aside", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  await Deno.writeTextFile(join(root, "pkg", "journal"), '{not json\n{"begin":0}\n');
  const r = await nx(["pkg", "uninstall", "notes", "--json"], { root });
  assert.equal(r.json?.code, "journal.corrupt", r.stdout);
  assert.match(r.json?.data.hint, /doctor --repair/);
  const fixed = await nx(["pkg", "doctor", "--repair", "--json"], { root });
  assert.equal(fixed.json?.code, "ok", fixed.stdout);
  assert.equal((await nx(["pkg", "uninstall", "notes", "--json"], { root })).json?.code, "ok");
});

Deno.test("a bundle trusted only through permissive mode installs only with dev-mode", async () => {
  const root = join(await tempDir(), "root");
  assert.equal((await nx(["pkg", "init"], { root })).code, 0);
  assert.equal((await nx(["pkg", "policy", "set", "mode", "permissive"], { root })).code, 0);
  const refused = await nx(["pkg", "install", await copyFixture("notes-1.0.0"), "--json"], {
    root,
  });
  assert.equal(refused.json?.code, "policy.untrusted", refused.stdout);
  assert.equal((await nx(["pkg", "policy", "set", "dev-mode", "on"], { root })).code, 0);
  const ok = await nx(["pkg", "install", await copyFixture("notes-1.0.0"), "--json"], { root });
  assert.equal(ok.json?.code, "ok", ok.stdout);
});

Deno.test("--dry-run prints the plan and permission diff and changes nothing", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const before = await observe(await cloneRoot(root));
  const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--dry-run"], { root });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^would have upgraded notes 1\.0\.0 → 1\.1\.0/);
  assert.match(r.stdout, /run-migrations 1\.0\.0→1\.1\.0/);
  assert.match(r.stdout, /switch-current 1\.0\.0 → 1\.1\.0/);
  const json = await nx(
    ["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--dry-run", "--json"],
    { root },
  );
  assert.equal(json.json?.data.dryRun, true);
  assert.deepEqual(json.json?.data.diff.added, []);
  assert.equal(await observe(root), before);
  const history = await nx(["pkg", "history", "notes", "--json"], { root });
  assert.equal(history.json?.data.entries.length, 1, "a dry run was audited");
});

Deno.test("a refused dry run is not audited; the same refusal without --dry-run is", async (t) => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const entries = async () => (await auditLog(root)).length;
  const before = await entries();
  const refusals: [string, () => Promise<string[]>, string][] = [
    [
      "install of an untrusted publisher's bundle",
      async () => ["pkg", "install", await copyFixture("ledger-1.0.0")],
      "policy.publisher_unknown",
    ],
    [
      "install of an installed app",
      async () => ["pkg", "install", await copyFixture("notes-1.0.0")],
      "app.already_installed",
    ],
    [
      "upgrade to the installed version",
      async () => ["pkg", "upgrade", await copyFixture("notes-1.0.0")],
      "upgrade.same_version",
    ],
    [
      "rollback with nothing retained",
      () => Promise.resolve(["pkg", "rollback", "notes"]),
      "rollback.nothing_retained",
    ],
    [
      "uninstall of an app that is not installed",
      () => Promise.resolve(["pkg", "uninstall", "nope"]),
      "app.not_installed",
    ],
  ];
  for (const [name, args, code] of refusals) {
    await t.step(name, async () => {
      const r = await nx([...await args(), "--dry-run", "--json"], { root });
      assert.equal(r.json?.code, code, r.stdout);
      assert.equal(await entries(), before, "a refused dry run was audited");
    });
  }
  await t.step("control: the refusal is audited without --dry-run", async () => {
    const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.0.0"), "--json"], { root });
    assert.equal(r.json?.code, "upgrade.same_version", r.stdout);
    const last = (await auditLog(root)).at(-1);
    assert.deepEqual([last?.op, last?.appId, last?.result], [
      "upgrade",
      "notes",
      "upgrade.same_version",
    ]);
    assert.equal(await entries(), before + 1);
  });
});

Deno.test("doctor finds a tampered installed file and a wrong current link; --repair fixes the link", async () => {
  const base = await preparedRoot([["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]]);
  const root = await cloneRoot(base);
  const payload = join(root, "apps/notes/versions/1.1.0/payload.elf");
  await Deno.chmod(payload, 0o644);
  await Deno.writeTextFile(payload, "tampered", { append: true });
  const tampered = await nx(["pkg", "doctor", "--json"], { root });
  assert.equal(tampered.json?.code, "doctor.findings");
  assert.equal(tampered.code, 3);
  const kinds = tampered.json?.data.details.report.findings.map((f: { kind: string }) => f.kind);
  assert.deepEqual(kinds, ["file-digest-mismatch"]);

  const other = await cloneRoot(base);
  await Deno.remove(join(other, "apps/notes/current"));
  await Deno.symlink("versions/1.0.0", join(other, "apps/notes/current"));
  await Deno.mkdir(join(other, "pkg/staging/leftover"), { recursive: true });
  const found = await nx(["pkg", "doctor", "--json"], { root: other });
  assert.equal(found.json?.code, "doctor.findings");
  const repaired = await nx(["pkg", "doctor", "--repair", "--json"], { root: other });
  assert.equal(repaired.json?.code, "ok", repaired.stdout);
  assert.equal(repaired.json?.data.repaired.length, 2);
  assert.equal(await Deno.readLink(join(other, "apps/notes/current")), "versions/1.1.0");
});

Deno.test("a failing post-commit step is a warning: the change stands", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const r = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], {
    root,
    env: { NX_FAULT: "fail:post:warm-icon-cache" },
  });
  assert.equal(r.json?.code, "ok", r.stdout);
  assert.ok(r.json?.data.warnings.some((w: { code: string }) => w.code === "fault.injected"));
  assert.match(r.stderr, /warning: post-commit warm-icon-cache failed/);
  await doctorClean(root);
});

Deno.test("NX_FAULT refuses points that do not exist and failures after the commit mark", async (t) => {
  const root = await preparedRoot([]);
  const before = await snapshotTree(root);
  for (
    const spec of ["fail:no-such-step", "fail:commit", "crash:nowhere", "delay:stage-version:x"]
  ) {
    await t.step(spec, async () => {
      const r = await nx(["pkg", "install", await copyFixture("notes-1.0.0"), "--json"], {
        root,
        env: { NX_FAULT: spec },
      });
      assert.equal(r.json?.code, "usage.invalid_argument", r.stdout);
      assert.deepEqual(await snapshotTree(root), before, "a refused NX_FAULT changed the root");
    });
  }
});

Deno.test("every committed change rewrites pkg/registry.stamp; a refused one does not", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const stamp = () => Deno.readTextFile(join(root, "pkg", "registry.stamp")).then(JSON.parse);
  assert.deepEqual({ ...(await stamp()), txid: "" }, {
    format: "nx-registry-stamp",
    version: 1,
    txid: "",
    op: "install",
    app: "notes",
    to: "1.0.0",
  });
  const refused = await nx(["pkg", "install", await copyFixture("notes-1.0.0"), "--json"], {
    root,
  });
  assert.equal(refused.json?.code, "app.already_installed");
  assert.equal((await stamp()).op, "install");
  assert.equal((await nx(["pkg", "uninstall", "notes", "--json"], { root })).json?.code, "ok");
  assert.equal((await stamp()).op, "uninstall");
});

Deno.test("a root, policy or journal of an unknown format version is refused with its code", async (t) => {
  const cases: [string, string, string, string][] = [
    [
      "root layout",
      "pkg/root.json",
      '{"format":"nx-state-root","version":2}\n',
      "root.unsupported_version",
    ],
    ["policy", "pkg/policy.toml", 'version = 9\nmode = "strict"\n', "policy.unsupported_version"],
    ["publishers", "pkg/publishers.toml", "version = 9\n", "policy.unsupported_version"],
    [
      "journal",
      "pkg/journal",
      '{"format":"nx-journal","version":9,"plan":{"txid":"t","steps":[]}}\n',
      "journal.corrupt",
    ],
  ];
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  for (const [name, path, text, code] of cases) {
    await t.step(name, async () => {
      const root = await cloneRoot(base);
      await Deno.writeTextFile(join(root, path), text);
      const r = await nx(["pkg", "uninstall", "notes", "--json"], { root });
      assert.equal(r.json?.code, code, r.stdout);
      assert.ok(await Deno.lstat(join(root, "apps/notes/current")), "nothing was removed");
    });
  }
});
