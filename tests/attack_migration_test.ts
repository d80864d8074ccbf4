/**
 * Migrations that attack the machine rather than the data, through the real CLI: one that
 * outlives a SIGKILLed nx, one that allocates or writes without bound, one that fills the app's
 * quota. Each ends with the root exactly in its old state.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, notesWithMigration, nx, spawnNx, tempDir } from "./helpers.ts";
import { cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";

const RECORD = "migration-process.json";

/**
 * Polls `probe` every 10 ms until it returns a value. The bound only turns a hang (a broken
 * build) into a failure; no outcome depends on timing.
 */
async function pollUntil<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = performance.now() + 60_000;
  while (true) {
    const got = await probe();
    if (got !== undefined) return got;
    if (performance.now() > deadline) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** State letter, process group and start time from /proc/<pid>/stat; undefined when no such pid. */
async function stat(pid: number) {
  let text: string;
  try {
    text = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: f[0], pgrp: Number(f[2]), startTicks: Number(f[19]) };
}

/** The process that had this start time no longer runs code (gone, a zombie, or pid reused). */
async function isGone(pid: number, startTicks: number): Promise<boolean> {
  const s = await stat(pid);
  return s === undefined || s.state === "Z" || s.state === "X" || s.startTicks !== startTicks;
}

/** Starts `nx pkg upgrade <bundle>` and returns once its migration wrote `<data>/started`. */
async function upgradeUntilMigrating(root: string, bundle: string) {
  const child = spawnNx(["pkg", "upgrade", bundle], root, {});
  const staging = join(root, "pkg", "staging");
  const txid = await pollUntil(async () => {
    if (!(await exists(staging))) return undefined;
    for await (const e of Deno.readDir(staging)) {
      if (await exists(join(staging, e.name, "data", "started"))) return e.name;
    }
    return undefined;
  }, "the migration to start");
  // The step may start only after its record is durable, so it is there.
  const record = JSON.parse(await Deno.readTextFile(join(staging, txid, RECORD)));
  return { child, txid, dir: join(staging, txid), record };
}

/** Writes files into its data dir for ever, re-creating the dir if it goes. */
const WRITES_FOREVER = `const dir = Deno.args[0];
Deno.writeTextFileSync(dir + "/started", "");
for (let i = 0; ; i++) {
  try {
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(dir + "/n-" + (i % 100), String(i));
  } catch { /* staging went away: try again */ }
  await new Promise((r) => setTimeout(r, 5));
}
`;

Deno.test("SIGKILL of nx mid-migration: the step dies with it and the next command recovers", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  assert.equal(
    (await nx(["pkg", "policy", "set", "migration-step-timeout-ms", "1500"], { root })).code,
    0,
  );
  const old = await observe(await cloneRoot(root));
  const bundle = await notesWithMigration(WRITES_FOREVER);
  const { child, dir, record } = await upgradeUntilMigrating(root, bundle);
  assert.equal(await isGone(record.pid, record.startTicks), false, "the step is not running");
  assert.equal((await stat(record.pid))?.pgrp, record.pgid);
  child.kill("SIGKILL");
  assert.equal((await child.status).signal, "SIGKILL");

  // The parent-death signal: nobody but the kernel stops the step now.
  await pollUntil(
    async () => await isGone(record.pid, record.startTicks) || undefined,
    "the step to die with nx",
  );
  const r = await nx(["pkg", "list", "--json"], { root });
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  assert.match(r.stderr, /journal\.recovered/);
  assert.equal(await isGone(record.pid, record.startTicks), true);
  // A live step would have re-created its data dir after the undo removed it.
  assert.equal(await exists(dir), false);
  assert.equal(await observe(root), old);
  await doctorClean(root);
});

/** A process like a migration step that outlived its nx: its own session, writing into `data`. */
async function survivor(data: string, root: string): Promise<Deno.ChildProcess> {
  const script = join(await tempDir(), "survivor.ts");
  await Deno.writeTextFile(
    script,
    WRITES_FOREVER.replace(`"/started"`, `"/survivor-started"`),
  );
  const child = new Deno.Command("/usr/bin/setsid", {
    args: [Deno.execPath(), "run", "--allow-all", "--no-config", script, data],
    cwd: root,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await pollUntil(
    async () => await exists(join(data, "survivor-started")) || undefined,
    "the survivor to start",
  );
  return child;
}

async function recordFor(pid: number, tag: string, change: Record<string, unknown> = {}) {
  const s = await stat(pid);
  assert.ok(s);
  return JSON.stringify({
    format: "nx-migration-process",
    version: 1,
    bootId: (await Deno.readTextFile("/proc/sys/kernel/random/boot_id")).trim(),
    pid,
    pgid: pid,
    startTicks: s.startTicks,
    tag,
    ...change,
  });
}

Deno.test("recovery kills a recorded step that survived its nx before it touches staging", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(root));
  const { child, dir, record } = await upgradeUntilMigrating(
    root,
    await notesWithMigration(WRITES_FOREVER),
  );
  child.kill("SIGKILL");
  await child.status;
  await pollUntil(
    async () => await isGone(record.pid, record.startTicks) || undefined,
    "the step to die with nx",
  );
  // Stand-in for a step the parent-death signal missed: it keeps writing into the staging data.
  const data = join(dir, "data");
  const other = await survivor(data, root);
  try {
    await Deno.writeTextFile(join(dir, RECORD), await recordFor(other.pid, data));
    const r = await nx(["pkg", "list", "--json"], { root });
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    // Recovery waited for it to be gone before undoing, so it is dead (a zombie) already.
    const s = await stat(other.pid);
    assert.ok(s === undefined || s.state === "Z", `survivor ${other.pid} is ${s?.state}`);
    assert.equal((await other.status).signal, "SIGKILL");
    assert.equal(await exists(dir), false);
    assert.equal(await observe(root), old);
  } finally {
    try {
      Deno.kill(-other.pid, "SIGKILL");
    } catch { /* gone */ }
    await other.status;
  }
});

Deno.test("a stale migration record never blocks recovery and never kills a stranger", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(root));
  const { child, dir, record } = await upgradeUntilMigrating(
    root,
    await notesWithMigration(WRITES_FOREVER),
  );
  child.kill("SIGKILL");
  await child.status;
  await pollUntil(
    async () => await isGone(record.pid, record.startTicks) || undefined,
    "the step to die with nx",
  );
  // A live process under a recycled pid: same pid, another start time, the tag on its command
  // line. Killing it would be killing a stranger.
  const data = join(dir, "data");
  const stranger = new Deno.Command("/bin/sh", {
    args: ["-c", "while :; do sleep 1; done", data],
    stdin: "null",
  }).spawn();
  try {
    await pollUntil(async () => (await stat(stranger.pid)) && true, "the stranger");
    const start = (await stat(stranger.pid))!.startTicks;
    await Deno.writeTextFile(
      join(dir, RECORD),
      await recordFor(stranger.pid, data, { startTicks: start + 1 }),
    );
    const r = await nx(["pkg", "list", "--json"], { root });
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    assert.equal(await isGone(stranger.pid, start), false, "recovery killed the stranger");
    assert.equal(await exists(dir), false);
    assert.equal(await observe(root), old);
  } finally {
    stranger.kill("SIGKILL");
    await stranger.status;
  }
});

Deno.test("a migration past a resource limit is migration.resource_limit; the old version stays", async (t) => {
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  const old = await observe(await cloneRoot(base));
  const cases: [string, string, string][] = [
    ["allocates a huge ArrayBuffer", "new Uint8Array(8 * 1024 ** 3).fill(1);\n", "memory"],
    [
      "writes a huge file",
      `const f = Deno.openSync(Deno.args[0] + "/huge", { write: true, create: true });\n` +
      `f.seekSync(4 * 1024 ** 3, Deno.SeekMode.Start);\nf.writeSync(new Uint8Array([1]));\n`,
      "file-size",
    ],
  ];
  for (const [name, body, limit] of cases) {
    await t.step(name, async () => {
      const root = await cloneRoot(base);
      const r = await nx(["pkg", "upgrade", await notesWithMigration(body), "--json"], { root });
      assert.equal(r.json?.code, "migration.resource_limit", r.stdout);
      assert.equal(r.json?.data?.details?.limit, limit);
      assert.equal(await observe(root), old);
      await doctorClean(root);
    });
  }
});

Deno.test("a migration that writes past the app's quota is migration.quota; the old version stays", async () => {
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  const set = await nx(["pkg", "policy", "set", "app-quota-mib", "1"], { root: base });
  assert.equal(set.code, 0, set.stdout + set.stderr);
  const old = await observe(await cloneRoot(base));
  const fill = `Deno.writeFileSync(Deno.args[0] + "/fill", new Uint8Array(2 * 1024 * 1024));\n`;
  const root = await cloneRoot(base);
  const r = await nx(["pkg", "upgrade", await notesWithMigration(fill), "--json"], { root });
  assert.equal(r.json?.code, "migration.quota", r.stdout);
  assert.ok(r.json?.data?.details?.bytes > 1024 * 1024);
  assert.equal(await observe(root), old);
  await doctorClean(root);
  // The same quota lets the real notes migration through.
  const ok = await nx(["pkg", "upgrade", await copyFixture("notes-1.1.0"), "--json"], { root });
  assert.equal(ok.json?.code, "ok", ok.stdout);
});
