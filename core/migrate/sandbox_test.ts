import assert from "node:assert/strict";
import { join } from "node:path";
import { type MigrationEvent, runMigrations } from "./sandbox.ts";
import { exists, failure, LIMITS, MARK, q, REPO, STEP, withWorld } from "./_testing.ts";

/**
 * A backstop, not a deadline: were nx's own timeout broken, the step would run forever, so after
 * a minute the test kills it (by the pid it wrote) and the run then fails with the wrong code.
 * No assertion depends on how long a step took.
 */
async function backstop<T>(p: Promise<T>, pidFile: string): Promise<T> {
  const timer = setTimeout(async () => {
    try {
      Deno.kill(Number(await Deno.readTextFile(pidFile)), "SIGKILL");
    } catch {
      // Nothing to kill.
    }
  }, 60_000);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("runMigrations() transforms data with the notes 1.0.0 → 1.1.0 script", async () => {
  const data = await Deno.makeTempDir({ prefix: "nx-migrate-notes-" });
  try {
    await Deno.writeTextFile(
      join(data, "notes.json"),
      q([{ text: "shopping\nmilk, eggs" }, { title: "kept", text: "x" }]),
    );
    const events: MigrationEvent[] = [];
    const step = { from: "1.0.0", to: "1.1.0", script: "migrations/1.0.0_to_1.1.0.ts" };
    await runMigrations(
      [step],
      join(REPO, "fixtures/src/notes-1.1.0"),
      data,
      LIMITS,
      { onStep: (e) => events.push(e) },
    );
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(data, "notes.json"))), [
      { title: "shopping", text: "shopping\nmilk, eggs" },
      { title: "kept", text: "x" },
    ]);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(data, "schema.json"))), {
      version: 2,
    });
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].step, step);
    assert.equal(events[0].index, 0);
    assert.equal(events[0].total, 1);
    assert.ok(events[0].durationMs >= 0);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("runMigrations() stops at the first failing step (notes 1.0.0 → 1.2.0)", async () => {
  const data = await Deno.makeTempDir({ prefix: "nx-migrate-notes-" });
  try {
    await Deno.writeTextFile(join(data, "notes.json"), q([{ text: "a" }]));
    const events: MigrationEvent[] = [];
    const chain = [
      { from: "1.0.0", to: "1.1.0", script: "migrations/1.0.0_to_1.1.0.ts" },
      { from: "1.1.0", to: "1.2.0", script: "migrations/1.1.0_to_1.2.0.ts" },
    ];
    const e = await failure(
      runMigrations(chain, join(REPO, "fixtures/src/notes-1.2.0"), data, LIMITS, {
        onStep: (ev) => events.push(ev),
      }),
      "migration.failed",
    );
    assert.deepEqual(events.map((ev) => ev.step), [chain[0]]);
    assert.deepEqual(e.details?.step, chain[1]);
    assert.notEqual(e.details?.exitCode, 0);
    assert.match(String(e.details?.stderrTail), /cannot convert notes/);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

Deno.test("runMigrations() captures output, runs in the data dir and removes its DENO_DIR", async () => {
  const script = `console.log("hello from " + Deno.cwd());\nconsole.error("to stderr");\n${MARK}`;
  await withWorld(script, async (w) => {
    const tmp = join(w.root, "tmp");
    await Deno.mkdir(tmp);
    const events: MigrationEvent[] = [];
    let during: string[] = [];
    await runMigrations([STEP], w.bundle, w.data, LIMITS, {
      onStep: (e) => {
        events.push(e);
        during = [...Deno.readDirSync(tmp)].map((d) => d.name);
      },
      scratchDir: tmp,
    });
    assert.equal(during.length, 1);
    assert.match(during[0], /^nx-migrate-deno-/);
    assert.equal(events[0].stdout, `hello from ${w.data}\n`);
    assert.equal(events[0].stderr, "to stderr\n");
    assert.ok(await exists(join(w.data, "ran")));
    assert.deepEqual(await Array.fromAsync(Deno.readDir(tmp)), []);
  });
});

Deno.test("runMigrations() lets a script import node: built-ins and files of its bundle", async () => {
  const script = `import { join } from "node:path";\nimport { NAME } from "./_name.ts";\n` +
    `await Deno.writeTextFile(join(Deno.args[0], NAME), "yes");\n`;
  await withWorld(script, async (w) => {
    await Deno.writeTextFile(join(w.bundle, "migrations/_name.ts"), `export const NAME = "ran";\n`);
    await runMigrations([STEP], w.bundle, w.data, LIMITS);
    assert.ok(await exists(join(w.data, "ran")));
  });
});

Deno.test("runMigrations() reports a non-zero exit as migration.failed with its code", async () => {
  await withWorld(`console.error("giving up");\nDeno.exit(3);\n`, async (w) => {
    const e = await failure(runMigrations([STEP], w.bundle, w.data, LIMITS), "migration.failed");
    assert.equal(e.details?.exitCode, 3);
    assert.equal(e.details?.signal, null);
    assert.equal(e.details?.permissionDenied, false);
    assert.equal(e.details?.stderrTail, "giving up\n");
    assert.deepEqual(e.details?.step, STEP);
  });
});

Deno.test("runMigrations() keeps only the last 2 KiB of a flood of stderr", async () => {
  const script = `const line = new TextEncoder().encode("x".repeat(1023) + "\\n");\n` +
    `for (let i = 0; i < 1024; i++) Deno.stderr.writeSync(line);\n` +
    `console.error("THE END");\nDeno.exit(1);\n`;
  await withWorld(script, async (w) => {
    const e = await failure(runMigrations([STEP], w.bundle, w.data, LIMITS), "migration.failed");
    const tail = String(e.details?.stderrTail);
    assert.ok(tail.length <= 2048);
    assert.ok(tail.endsWith("THE END\n"));
  });
});

Deno.test("runMigrations() kills a script that loops forever (migration.timeout)", async () => {
  const script =
    `Deno.writeTextFileSync(Deno.args[0] + "/pid", String(Deno.pid));\nwhile (true) {}\n`;
  await withWorld(script, async (w) => {
    const e = await failure(
      backstop(
        runMigrations([STEP], w.bundle, w.data, { stepTimeoutMs: 1500 }),
        join(w.data, "pid"),
      ),
      "migration.timeout",
    );
    assert.equal(e.details?.timeoutMs, 1500);
    // SIGTERM (the default action ends a script that does not handle it) was enough.
    assert.equal(e.details?.signal, "SIGTERM");
    const pid = await Deno.readTextFile(join(w.data, "pid"));
    assert.match(pid, /^\d+$/);
    assert.equal(await exists(`/proc/${pid}`), false, `process ${pid} is still there`);
  });
});

Deno.test("runMigrations() SIGKILLs a script that ignores SIGTERM; it never writes again", async () => {
  // The script records the SIGTERM it ignores, and keeps writing a heartbeat until it dies.
  const script =
    `Deno.addSignalListener("SIGTERM", () => Deno.writeTextFileSync(Deno.args[0] + "/term", "x"));\n` +
    `Deno.writeTextFileSync(Deno.args[0] + "/pid", String(Deno.pid));\n` +
    `for (let n = 0; ; n++) {\n` +
    `  Deno.writeTextFileSync(Deno.args[0] + "/beat", String(n));\n` +
    `  await new Promise((r) => setTimeout(r, 20));\n` +
    `}\n`;
  await withWorld(script, async (w) => {
    const e = await failure(
      backstop(
        runMigrations([STEP], w.bundle, w.data, { stepTimeoutMs: 1500, graceMs: 1000 }),
        join(w.data, "pid"),
      ),
      "migration.timeout",
    );
    // In order: the step ran, got SIGTERM and ignored it (it wrote `term` and went on: the grace
    // period is long enough for an idle script's handler to run), and the SIGKILL ended it.
    assert.ok(await exists(join(w.data, "beat")), "the step never ran");
    assert.ok(await exists(join(w.data, "term")), "the step never got SIGTERM");
    assert.equal(e.details?.signal, "SIGKILL");
    // runMigrations() returned only once the process was gone: nothing of it is left to write.
    const pid = await Deno.readTextFile(join(w.data, "pid"));
    assert.equal(await exists(`/proc/${pid}`), false, `process ${pid} is still there`);
  });
});

Deno.test("runMigrations() stops a script that outgrows its V8 heap (migration.resource_limit)", async () => {
  const script =
    `const keep = [];\nwhile (true) keep.push(new Array(100_000).fill(Math.random()));\n`;
  await withWorld(script, async (w) => {
    const e = await failure(
      runMigrations([STEP], w.bundle, w.data, { stepTimeoutMs: 20_000, maxOldSpaceMb: 32 }),
      "migration.resource_limit",
    );
    assert.equal(e.details?.limit, "memory");
    assert.ok(e.details?.signal !== null || e.details?.exitCode !== 0);
    assert.match(String(e.details?.stderrTail), /heap/i);
  });
});

Deno.test("runMigrations() with an empty chain does nothing", async () => {
  await runMigrations([], "/nonexistent/bundle", "/nonexistent/data", LIMITS);
});
