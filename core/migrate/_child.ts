/**
 * One child process with a deadline: SIGTERM at the deadline, SIGKILL `graceMs` later, output
 * drained continuously (so a chatty child never blocks) and kept up to a cap, last bytes first.
 */
import { NxError } from "../errors.ts";

export interface ChildOptions {
  cwd: string;
  /** The child's whole environment (the parent's is cleared). */
  env: Record<string, string>;
  timeoutMs: number;
  graceMs: number;
  /** Bytes of stdout and of stderr kept (the last ones). */
  capBytes: number;
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

/** Runs `command args…` to completion or until killed; never leaves the child running. */
export async function runChild(
  command: string,
  args: string[],
  options: ChildOptions,
): Promise<ChildResult> {
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(command, {
      args,
      cwd: options.cwd,
      clearEnv: true,
      env: options.env,
      stdin: "null",
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
  let timedOut = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const signal = (s: Deno.Signal) => {
    try {
      child.kill(s);
    } catch {
      // Already exited: nothing to signal.
    }
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    signal("SIGTERM");
    killTimer = setTimeout(() => signal("SIGKILL"), options.graceMs);
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
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    timedOut,
    stdout: out.bytes(),
    stderr: err.bytes(),
    durationMs: performance.now() - started,
  };
}
