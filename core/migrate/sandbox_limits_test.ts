/** The sandbox's OS-level limits: own session, parent-death signal, durable record, rlimits, quota. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { isDead, procStat } from "./_process.ts";
import { type ProcessRecord, RECORD_FORMAT } from "./_record.ts";
import { limitHit, runMigrations } from "./sandbox.ts";
import {
  BLOCK,
  exists,
  failure,
  LIMITS,
  MARK,
  pollUntil,
  q,
  REPO,
  STEP,
  withWorld,
  type World,
} from "./_testing.ts";

const MIB = 1024 * 1024;
const PID_THEN_BLOCK = `Deno.writeTextFileSync(Deno.args[0] + "/pid", String(Deno.pid));\n${BLOCK}`;

async function readRecord(path: string): Promise<ProcessRecord | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

const pidOf = async (w: World) =>
  await exists(join(w.data, "pid"))
    ? Number(await Deno.readTextFile(join(w.data, "pid")))
    : undefined;

Deno.test("runMigrations() runs a step as the leader of its own session, recorded while it runs", async () => {
  await withWorld(PID_THEN_BLOCK, async (w) => {
    const recordPath = join(w.root, "migration-process.json");
    const run = runMigrations([STEP], w.bundle, w.data, LIMITS, { recordPath });
    const pid = await pollUntil(() => pidOf(w), "the step's pid");
    const record = await readRecord(recordPath);
    // The wrappers exec each other: the pid nx spawned and recorded is the script's own.
    assert.equal(record?.format, RECORD_FORMAT);
    assert.equal(record?.pid, pid);
    assert.equal(record?.pgid, pid);
    assert.equal(record?.tag, w.data);
    const stat = procStat(pid);
    assert.equal(stat?.pgrp, pid);
    assert.equal(stat?.session, pid);
    assert.equal(stat?.startTicks, record?.startTicks);
    await Deno.writeTextFile(join(w.data, "release"), "");
    await run;
    assert.equal(await exists(recordPath), false);
  });
});

Deno.test("runMigrations() never starts a step whose record cannot be written", async () => {
  await withWorld(MARK, async (w) => {
    const recordPath = join(w.root, "no-such-dir", "migration-process.json");
    await failure(runMigrations([STEP], w.bundle, w.data, LIMITS, { recordPath }), "io.failed");
    assert.equal(await exists(join(w.data, "ran")), false);
  });
});

Deno.test("a step dies with the process that runs it (parent-death signal)", async () => {
  await withWorld(PID_THEN_BLOCK, async (w) => {
    const driver = join(w.root, "driver.ts");
    await Deno.writeTextFile(
      driver,
      `import { runMigrations } from ${q(new URL("./sandbox.ts", import.meta.url).href)};\n` +
        `await runMigrations([${q(STEP)}], ${q(w.bundle)}, ${q(w.data)}, ${q(LIMITS)});\n`,
    );
    const parent = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--no-lock", `--config=${join(REPO, "deno.json")}`, driver],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const pid = await pollUntil(() => pidOf(w), "the step's pid");
    const started = procStat(pid)!.startTicks;
    parent.kill("SIGKILL");
    await parent.status;
    // Nobody signals the step now but the kernel; a zombie (PID 1 may not reap) runs no code.
    await pollUntil(() => {
      const s = procStat(pid);
      return isDead(s) || s!.startTicks !== started || undefined;
    }, "the step to die");
    assert.equal(await exists(join(w.data, "release")), false);
  });
});

Deno.test("runMigrations() stops a step at its memory limit (migration.resource_limit)", async (t) => {
  const cases: [string, string][] = [
    // Above RLIMIT_DATA (1 GiB by default) but far below RLIMIT_AS: the data limit stops it.
    ["a 1.5 GiB ArrayBuffer, touched", "new Uint8Array(1536 * 1024 * 1024).fill(1);\n"],
    ["a 64 GiB ArrayBuffer", "new ArrayBuffer(64 * 1024 ** 3);\n"],
    [
      "many 64 MiB buffers",
      "const keep = [];\nwhile (true) keep.push(new Uint8Array(64 * 1024 * 1024).fill(1));\n",
    ],
  ];
  for (const [name, body] of cases) {
    await t.step(name, async () => {
      await withWorld(body + MARK, async (w) => {
        const e = await failure(
          runMigrations([STEP], w.bundle, w.data, LIMITS),
          "migration.resource_limit",
        );
        assert.equal(e.details?.limit, "memory");
        assert.equal(await exists(join(w.data, "ran")), false);
      });
    });
  }
});

Deno.test("runMigrations() stops a step that writes past the file size limit", async (t) => {
  const sparse =
    `const f = Deno.openSync(Deno.args[0] + "/big", { write: true, create: true });\n` +
    `f.seekSync(2 * 1024 * 1024, Deno.SeekMode.Start);\nf.writeSync(new Uint8Array([1]));\n`;
  const cases: [string, string][] = [
    ["killed by SIGXFSZ", sparse],
    [
      "EFBIG when the script ignores SIGXFSZ",
      `Deno.addSignalListener("SIGXFSZ", () => {});\n${sparse}`,
    ],
    [
      "a plain 2 MiB write",
      `Deno.writeFileSync(Deno.args[0] + "/big", new Uint8Array(2 * 1024 * 1024));\n`,
    ],
  ];
  for (const [name, body] of cases) {
    await t.step(name, async () => {
      await withWorld(body + MARK, async (w) => {
        const e = await failure(
          runMigrations([STEP], w.bundle, w.data, { ...LIMITS, maxFileMb: 1 }),
          "migration.resource_limit",
        );
        assert.equal(e.details?.limit, "file-size");
        assert.equal(e.details?.maxFileMb, 1);
        assert.ok((await Deno.stat(join(w.data, "big"))).size <= MIB);
        assert.equal(await exists(join(w.data, "ran")), false);
      });
    });
  }
});

Deno.test("runMigrations() lets a step work within its limits (a 256 MiB buffer, a 2 MiB file)", async () => {
  const body = `new Uint8Array(256 * 1024 * 1024).fill(1);\n` +
    `Deno.writeFileSync(Deno.args[0] + "/file", new Uint8Array(2 * 1024 * 1024));\n`;
  await withWorld(body + MARK, async (w) => {
    await runMigrations([STEP], w.bundle, w.data, { ...LIMITS, maxFileMb: 4 });
    assert.equal(await exists(join(w.data, "ran")), true);
  });
});

Deno.test("runMigrations() checks the quota after the chain: before + after + fixed bytes", async (t) => {
  const write = (bytes: number) =>
    `Deno.writeFileSync(Deno.args[0] + "/new", new Uint8Array(${bytes}));\n`;
  const cases: [string, number, string, number, string | undefined][] = [
    // name, bytes already in the data, script, fixed bytes, expected code
    ["migrated data within the quota", 0, write(300_000), 100_000, undefined],
    ["migrated data past the quota", 0, write(2 * MIB), 0, "migration.quota"],
    ["the old data and its copy both count", 600_000, "", 0, "migration.quota"],
    ["the bundle and retained versions count", 0, write(300_000), 800_000, "migration.quota"],
  ];
  for (const [name, before, body, fixedBytes, code] of cases) {
    await t.step(name, async () => {
      await withWorld(body + MARK, async (w) => {
        if (before > 0) await Deno.writeFile(join(w.data, "old"), new Uint8Array(before));
        const run = runMigrations([STEP], w.bundle, w.data, LIMITS, {
          quota: { limitBytes: MIB, fixedBytes },
        });
        if (code === undefined) return await run;
        const e = await failure(run, code);
        let after = 0;
        for (const f of Deno.readDirSync(w.data)) after += Deno.statSync(join(w.data, f.name)).size;
        assert.equal(e.details?.bytes, fixedBytes + before + after);
        assert.equal(e.details?.dataBefore, before);
        assert.equal(e.details?.dataAfter, after);
        assert.equal(e.details?.quota, MIB);
      });
    });
  }
});

Deno.test("limitHit() tells a resource limit from another failure", async (t) => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [string, Deno.Signal | null, string, string | undefined][] = [
    ["SIGXFSZ", "SIGXFSZ", "", "file-size"],
    ["EFBIG", null, "Error: File too large (os error 27)", "file-size"],
    ["ArrayBuffer", null, "RangeError: Array buffer allocation failed", "memory"],
    ["V8 heap", "SIGTRAP", "Fatal JavaScript out of memory: Reached heap limit", "memory"],
    ["Rust allocator", "SIGABRT", "memory allocation of 1048576 bytes failed", "memory"],
    ["a plain error", null, "Error: cannot convert notes", undefined],
    ["another signal", "SIGSEGV", "", undefined],
  ];
  for (const [name, signal, stderr, expected] of cases) {
    await t.step(name, () => assert.equal(limitHit({ signal, stderr: enc(stderr) }), expected));
  }
});

Deno.test("runMigrations() refuses limits that are not whole positive numbers", async (t) => {
  for (const key of ["maxAddressSpaceMb", "maxDataMb", "maxFileMb"]) {
    for (const value of [0, 1.5, -1]) {
      await t.step(`${key} = ${value}`, async () => {
        await failure(
          runMigrations([STEP], "/nonexistent", "/nonexistent", { ...LIMITS, [key]: value }),
          "usage.invalid_argument",
        );
      });
    }
  }
});
