import assert from "node:assert/strict";
import { join } from "node:path";
import { bootId, isDead, procArgv, procStat, readProc } from "./_process.ts";
import {
  isRecordedProcessAlive,
  type ProcessRecord,
  RECORD_FORMAT,
  RECORD_VERSION,
  stopRecordedMigration,
  writeRecord,
} from "./_record.ts";
import { exists, failure, pollUntil } from "./_testing.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nx-record-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * A process that runs until killed, leading its own session, with `tag` on its command line;
 * returned once `setsid` has made the group and exec'd the shell.
 */
async function survivor(
  tag: string,
  script = "while :; do sleep 1; done",
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("/usr/bin/setsid", {
    args: ["/bin/sh", "-c", script, tag],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await pollUntil(
    () =>
      procStat(child.pid)?.pgrp === child.pid && procArgv(child.pid)[0] === "/bin/sh" || undefined,
    "the survivor's own session",
  );
  return child;
}

function recordOf(pid: number, tag: string): ProcessRecord {
  const stat = procStat(pid);
  assert.ok(stat, `process ${pid} is not there`);
  return {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    bootId: bootId(),
    pid,
    pgid: pid,
    startTicks: stat.startTicks,
    tag,
  };
}

/** The live (not zombie) members of a process group. */
async function groupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const text = readProc(`/proc/${e.name}/stat`);
    const stat = text === undefined ? undefined : procStat(Number(e.name));
    if (stat && !isDead(stat) && stat.pgrp === pgid) members.push(Number(e.name));
  }
  return members;
}

Deno.test("stopRecordedMigration() with no record does nothing", async () => {
  await withDir(async (dir) => {
    await stopRecordedMigration(join(dir, "migration-process.json"));
  });
});

Deno.test("stopRecordedMigration() kills the recorded process group and waits until it is gone", async () => {
  await withDir(async (dir) => {
    const tag = join(dir, "data");
    const child = await survivor(tag);
    try {
      // Its group holds the shell and the `sleep` it started: both must go.
      const record = recordOf(child.pid, tag);
      const path = join(dir, "migration-process.json");
      await writeRecord(path, record);
      assert.equal(isRecordedProcessAlive(record), true);
      await stopRecordedMigration(path);
      assert.equal(isRecordedProcessAlive(record), false);
      assert.deepEqual(await groupMembers(child.pid), []);
      assert.equal(await exists(path), false);
    } finally {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* gone, as expected */ }
      assert.equal((await child.status).signal, "SIGKILL");
    }
  });
});

Deno.test("stopRecordedMigration() never kills for a stale record, and removes it", async (t) => {
  const done = await new Deno.Command("/bin/true").output();
  assert.ok(done.success);
  const me = procStat(Deno.pid)!;
  // This test's own process stands in for anything a stale record could name by mistake.
  const cases: [string, (r: ProcessRecord) => ProcessRecord][] = [
    ["a process long gone", (r) => ({ ...r, pid: 2 ** 22 + 1, pgid: 2 ** 22 + 1 })],
    ["a recycled pid (other start time)", (r) => ({ ...r, startTicks: r.startTicks + 1 })],
    ["another boot", (r) => ({ ...r, bootId: "00000000-0000-0000-0000-000000000000" })],
    ["a process without the tag on its command line", (r) => ({ ...r, tag: "/nx/not-here" })],
  ];
  for (const [name, change] of cases) {
    await t.step(name, async () => {
      await withDir(async (dir) => {
        const path = join(dir, "migration-process.json");
        const base = { ...recordOf(Deno.pid, Deno.execPath()), startTicks: me.startTicks };
        const kills: number[] = [];
        await writeRecord(path, change(base));
        await stopRecordedMigration(path, { kill: (pid) => kills.push(pid) });
        assert.deepEqual(kills, []);
        assert.equal(await exists(path), false);
      });
    });
  }
});

Deno.test("stopRecordedMigration() refuses with migration.still_running when the process stays", async () => {
  await withDir(async (dir) => {
    const tag = join(dir, "data");
    const child = await survivor(tag);
    try {
      const path = join(dir, "migration-process.json");
      await writeRecord(path, recordOf(child.pid, tag));
      const kills: number[] = [];
      const e = await failure(
        stopRecordedMigration(path, { kill: (pid) => kills.push(pid), waitMs: 100 }),
        "migration.still_running",
      );
      assert.deepEqual(kills, [-child.pid, child.pid]);
      assert.equal(e.details?.pid, child.pid);
      // The record stays, so the next command tries again.
      assert.equal(await exists(path), true);
    } finally {
      Deno.kill(-child.pid, "SIGKILL");
      await child.status;
    }
  });
});

Deno.test("stopRecordedMigration() waits for every member of the group, not only its leader", async () => {
  await withDir(async (dir) => {
    const tag = join(dir, "data");
    const child = await survivor(tag, "sleep 600 & wait");
    try {
      await pollUntil(
        async () => (await groupMembers(child.pid)).length === 2 || undefined,
        "the survivor's second member",
      );
      const path = join(dir, "migration-process.json");
      const record = recordOf(child.pid, tag);
      await writeRecord(path, record);
      // Only the leader is killed: the member it started stays in the group.
      const kill = (pid: number, signal: Deno.Signal) => pid > 0 && Deno.kill(pid, signal);
      await failure(stopRecordedMigration(path, { kill, waitMs: 300 }), "migration.still_running");
      assert.equal(isRecordedProcessAlive(record), false);
      assert.equal((await groupMembers(child.pid)).length, 1);
      assert.equal(await exists(path), true);
    } finally {
      Deno.kill(-child.pid, "SIGKILL");
      await child.status;
    }
  });
});

Deno.test("stopRecordedMigration() refuses an unreadable record (it cannot tell what to stop)", async (t) => {
  const cases: [string, string][] = [
    ["not JSON", "pid=12"],
    ["unknown version", JSON.stringify({ format: RECORD_FORMAT, version: 99 })],
    ["a zero pid", JSON.stringify({ ...recordOf(Deno.pid, "x"), pid: 0 })],
  ];
  for (const [name, text] of cases) {
    await t.step(name, async () => {
      await withDir(async (dir) => {
        const path = join(dir, "migration-process.json");
        await Deno.writeTextFile(path, text);
        await failure(stopRecordedMigration(path), "migration.still_running");
      });
    });
  }
});

Deno.test("writeRecord() replaces the record atomically and leaves no temp file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "migration-process.json");
    const record = recordOf(Deno.pid, "a");
    await writeRecord(path, record);
    await writeRecord(path, { ...record, tag: "b" });
    assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), { ...record, tag: "b" });
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["migration-process.json"]);
  });
});
