/**
 * The durable record of a running migration process: written (temp file, fsync, rename, fsync
 * of the directory) after the process is spawned and before it may start the script, removed
 * after it exited. Crash recovery reads it to stop a step that outlived its nx.
 */
import { basename, dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { bootId, groupHasLiveMember, isDead, procArgv, procStat } from "./_process.ts";

export const RECORD_FORMAT = "nx-migration-process";
export const RECORD_VERSION = 1;

export interface ProcessRecord {
  format: typeof RECORD_FORMAT;
  version: typeof RECORD_VERSION;
  bootId: string;
  pid: number;
  /** The process group (and session) the step leads: equal to pid. */
  pgid: number;
  /** /proc/<pid>/stat start time in clock ticks after boot. */
  startTicks: number;
  /** A string the process's command line contains (the step's data directory). */
  tag: string;
}

function ioFailed(action: string, path: string, e: unknown): NxError {
  const why = e instanceof Error ? e.message : String(e);
  return new NxError("io.failed", `cannot ${action} ${path}: ${why}`, { cause: e });
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await Deno.open(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Writes the record atomically and durably. */
export async function writeRecord(path: string, record: ProcessRecord): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  try {
    const file = await Deno.open(temp, { write: true, create: true, truncate: true, mode: 0o600 });
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(record) + "\n");
      let at = 0;
      while (at < bytes.length) at += await file.write(bytes.subarray(at));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
    await fsyncDir(dirname(path));
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw ioFailed("record the migration process in", path, e);
  }
}

/** Removes the record (a step that has exited); a missing record is fine. */
export async function removeRecord(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioFailed("remove", path, e);
  }
}

function stillRunning(path: string, reason: string, details: Record<string, unknown>): NxError {
  return new NxError(
    "migration.still_running",
    `cannot recover: ${reason}`,
    {
      hint: `stop the process by hand, then remove ${path}`,
      details: { record: path, ...details },
    },
  );
}

function parseRecord(text: string): ProcessRecord | undefined {
  let r: Partial<ProcessRecord>;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  const whole = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;
  if (
    typeof r !== "object" || r === null || r.format !== RECORD_FORMAT ||
    r.version !== RECORD_VERSION || typeof r.bootId !== "string" || typeof r.tag !== "string" ||
    r.tag === "" || !whole(r.pid) || !whole(r.pgid) || !Number.isSafeInteger(r.startTicks)
  ) {
    return undefined;
  }
  return r as ProcessRecord;
}

/**
 * Whether `record` still names a live process: the same boot, a process with that pid and
 * start time (a recycled pid has another), not a zombie, whose command line holds the tag.
 */
export function isRecordedProcessAlive(record: ProcessRecord): boolean {
  if (record.bootId !== bootId()) return false;
  const stat = procStat(record.pid);
  if (isDead(stat) || stat!.startTicks !== record.startTicks) return false;
  // An empty command line is a process in the middle of an exec (the kernel swaps its memory):
  // pid, boot and start time already match, so it counts as the recorded one.
  const argv = procArgv(record.pid);
  return argv.length === 0 || argv.some((arg) => arg.includes(record.tag));
}

export interface StopOptions {
  /** How long to wait for the process to be gone after SIGKILL (default 5000 ms). */
  waitMs?: number;
  /** Sends a signal (default Deno.kill; tests inject a failing one). */
  kill?: (pid: number, signal: Deno.Signal) => void;
}

/**
 * Stops the step a crashed nx left running, if any: reads the record at `path`; when it names a
 * live process (see {@link isRecordedProcessAlive}) sends SIGKILL to its process group and waits
 * until no member of the group runs any more (a member the migration forked may outlive its
 * leader by a scheduling slice, and the undo that follows must not race it). A record of a
 * process that is long gone (or of another boot, or a recycled pid) is stale and only removed.
 * `migration.still_running` when the process does not go away or the record cannot be read
 * (then nothing tells which process to stop).
 */
export async function stopRecordedMigration(
  path: string,
  options: StopOptions = {},
): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw ioFailed("read", path, e);
  }
  const record = parseRecord(text);
  if (!record) {
    throw stillRunning(path, "the record of an interrupted migration process is unreadable", {});
  }
  const kill = options.kill ?? ((pid: number, signal: Deno.Signal) => Deno.kill(pid, signal));
  const waitMs = options.waitMs ?? 5000;
  if (isRecordedProcessAlive(record)) {
    const stat = procStat(record.pid);
    // The group is killed only while its leader is verified to be the recorded process.
    const group = stat?.pgrp === record.pgid;
    const targets = group ? [-record.pgid, record.pid] : [record.pid];
    for (const target of targets) {
      try {
        kill(target, "SIGKILL");
      } catch {
        // Gone meanwhile, or not ours to signal: the wait below tells which.
      }
    }
    const deadline = performance.now() + waitMs;
    const running = () =>
      isRecordedProcessAlive(record) || (group && groupHasLiveMember(record.pgid));
    while (running()) {
      if (performance.now() >= deadline) {
        throw stillRunning(
          path,
          `migration process ${record.pid} of an interrupted transaction does not stop`,
          { pid: record.pid, pgid: record.pgid },
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  await removeRecord(path);
}
