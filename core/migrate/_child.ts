/**
 * One confined child process with a deadline (see _confine.ts): recorded durably before it may
 * start, SIGTERM to its process group at the deadline, SIGKILL `graceMs` later, output drained
 * continuously (so a chatty child never blocks) and kept up to a cap, last bytes first.
 */
import { NxError } from "../errors.ts";
import { confinedCommand, type ConfineTools, type Rlimits } from "./_confine.ts";
import { bootId, procStat } from "./_process.ts";
import { RECORD_FORMAT, RECORD_VERSION, removeRecord, writeRecord } from "./_record.ts";

export interface ChildOptions {
  cwd: string;
  /** The child's whole environment (the parent's is cleared). */
  env: Record<string, string>;
  timeoutMs: number;
  graceMs: number;
  /** Bytes of stdout and of stderr kept (the last ones). */
  capBytes: number;
  tools: ConfineTools;
  rlimits: Rlimits;
  /** Where the running process is recorded for crash recovery (absent: not recorded). */
  recordPath?: string;
  /** A string of the command line that identifies the process in its record. */
  tag: string;
}

export interface ChildResult {
  /** The exit code, or null when a signal ended the child. */
  code: number | null;
  signal: Deno.Signal | null;
  /** The deadline passed and the child was signalled. */
  timedOut: boolean;
  stdout: Uint8Array;
  stderr: Uint8Array;
  durationMs: number;
}

/** Keeps the last `cap` bytes written to it. */
export class TailBuffer {
  #chunks: Uint8Array[] = [];
  #size = 0;
  total = 0;

  constructor(readonly cap: number) {}

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0].length >= this.cap) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  bytes(): Uint8Array {
    const all = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all.length > this.cap ? all.slice(all.length - this.cap) : all;
  }
}

async function drain(stream: ReadableStream<Uint8Array>, into: TailBuffer): Promise<void> {
  try {
    for await (const chunk of stream) into.push(chunk);
  } catch {
    // The output is diagnostic only; a broken pipe must not hide the exit status.
  }
}

/** Sends `signal` to the child's process group (it leads one), else to the child alone. */
export function signalGroup(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    Deno.kill(-child.pid, signal);
    return;
  } catch {
    // No group yet (setsid has not run): the process itself.
  }
  try {
    child.kill(signal);
  } catch {
    // Already exited: nothing to signal.
  }
}

/** Records the spawned child; on failure the child is killed (it never passed the gate). */
async function record(child: Deno.ChildProcess, options: ChildOptions): Promise<void> {
  if (options.recordPath === undefined) return;
  const stat = procStat(child.pid);
  // Gone already (e.g. a tool failed to start): nothing runs, so nothing to record.
  if (stat === undefined) return;
  await writeRecord(options.recordPath, {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    bootId: bootId(),
    pid: child.pid,
    pgid: child.pid,
    startTicks: stat.startTicks,
    tag: options.tag,
  });
}

async function openGate(child: Deno.ChildProcess): Promise<void> {
  const writer = child.stdin.getWriter();
  try {
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  } catch {
    // The child is gone already; its status tells what happened.
  }
}

/** Runs `command args…` confined, to completion or until killed; never leaves it running. */
export async function runChild(
  command: string,
  args: string[],
  options: ChildOptions,
): Promise<ChildResult> {
  const started = performance.now();
  const confined = confinedCommand(options.tools, options.rlimits, command, args);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(confined.program, {
      args: confined.args,
      cwd: options.cwd,
      clearEnv: true,
      env: options.env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new NxError(
      e instanceof Deno.errors.NotFound ? "tool.missing" : "io.failed",
      `cannot start ${command}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const out = new TailBuffer(options.capBytes);
  const err = new TailBuffer(options.capBytes);
  const drained = Promise.all([drain(child.stdout, out), drain(child.stderr, err)]);
  try {
    await record(child, options);
  } catch (e) {
    signalGroup(child, "SIGKILL");
    await child.status;
    await drained;
    throw e;
  }
  await openGate(child);
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const deadline = setTimeout(() => {
    timedOut = true;
    signalGroup(child, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), options.graceMs);
  }, options.timeoutMs);
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    clearTimeout(deadline);
    clearTimeout(killTimer);
  }
  // The child cannot spawn processes of its own, so its pipes close when it exits.
  await drained;
  if (options.recordPath !== undefined) await removeRecord(options.recordPath);
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    timedOut,
    stdout: out.bytes(),
    stderr: err.bytes(),
    durationMs: performance.now() - started,
  };
}
