/**
 * Runs a launched program confined the way migrations are (core/migrate/_confine.ts), without
 * their stdin gate (a launch is not recorded, and its stdin may be the terminal):
 *
 *   setpriv --pdeathsig KILL -- setsid -- prlimit --as=… --data=… --fsize=… --nofile=… --core=0 \
 *     -- <program> <args…>
 *
 * Each tool execs the next in the same process, so the pid spawned leads the program's own
 * session and process group: a group signal reaches everything it started and never nx, and the
 * program dies with nx. A cancel sends SIGTERM to the group, then SIGKILL `graceMs` later; when
 * the program exits, whatever it left running in its group is killed too (a launch owns what it
 * started). RLIMIT_NPROC is not set: it counts every process of the user, not of the launch.
 */
import { NxError } from "../errors.ts";
import { signalGroup } from "../migrate/mod.ts";

const DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"];
const TOOLS = ["setpriv", "setsid", "prlimit"] as const;

export interface LaunchLimits {
  /** RLIMIT_AS, bytes. */
  addressSpace: number;
  /** RLIMIT_DATA, bytes. */
  data: number;
  /** RLIMIT_FSIZE, bytes. */
  fileSize: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
}

export interface RunOptions {
  cwd: string;
  /** The whole environment (the parent's is cleared). */
  env: Record<string, string>;
  /** inherit: the caller's stdin, stdout and stderr; capture: stdin at EOF, output kept. */
  stdio: "inherit" | "capture";
  /** Bytes of stdout and of stderr kept in capture mode (the first ones). */
  capBytes: number;
  limits: LaunchLimits;
  graceMs: number;
  signal?: AbortSignal;
}

export interface Captured {
  text: string;
  truncated: boolean;
}

export interface RunResult {
  /** The exit code, or null when a signal ended the program. */
  code: number | null;
  signal: Deno.Signal | null;
  /** The caller's signal aborted the run and the group was signalled. */
  cancelled: boolean;
  stdout?: Captured;
  stderr?: Captured;
  durationMs: number;
}

async function findTool(name: string): Promise<string> {
  for (const dir of DIRS) {
    try {
      const info = await Deno.stat(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  throw new NxError("tool.missing", `cannot launch: ${name} is not installed`, {
    hint: "a launch needs util-linux (setpriv, setsid, prlimit)",
    details: { tool: name, searched: DIRS },
  });
}

export async function confinedArgv(
  program: string,
  args: readonly string[],
  limits: LaunchLimits,
): Promise<string[]> {
  const [setpriv, setsid, prlimit] = await Promise.all(TOOLS.map(findTool));
  return [
    setpriv,
    "--pdeathsig",
    "KILL",
    "--",
    setsid,
    "--",
    prlimit,
    `--as=${limits.addressSpace}`,
    `--data=${limits.data}`,
    `--fsize=${limits.fileSize}`,
    `--nofile=${limits.openFiles}`,
    "--core=0",
    "--",
    program,
    ...args,
  ];
}

/** Keeps the first `cap` bytes of a stream and reads (and drops) the rest, so it never blocks. */
class HeadBuffer {
  #bytes: Uint8Array;
  #size = 0;
  total = 0;

  constructor(cap: number) {
    this.#bytes = new Uint8Array(cap);
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    const room = this.#bytes.length - this.#size;
    if (room > 0) {
      this.#bytes.set(chunk.subarray(0, room), this.#size);
      this.#size += Math.min(room, chunk.length);
    }
  }

  captured(): Captured {
    return {
      text: new TextDecoder().decode(this.#bytes.subarray(0, this.#size)),
      truncated: this.total > this.#size,
    };
  }
}

/** Reads a pipe into `into` until it closes or the read is cancelled. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  into: HeadBuffer,
): Promise<void> {
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      into.push(next.value);
    }
  } catch {
    // Output is what the program said; a broken pipe must not hide its exit status.
  }
}

function spawn(argv: string[], options: RunOptions): Deno.ChildProcess {
  const capture = options.stdio === "capture";
  try {
    return new Deno.Command(argv[0], {
      args: argv.slice(1),
      cwd: options.cwd,
      clearEnv: true,
      env: options.env,
      stdin: capture ? "null" : "inherit",
      stdout: capture ? "piped" : "inherit",
      stderr: capture ? "piped" : "inherit",
    }).spawn();
  } catch (e) {
    throw new NxError(
      e instanceof Deno.errors.NotFound ? "tool.missing" : "io.failed",
      `cannot start ${argv[0]}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** Runs `argv` to completion or until cancelled; never leaves its process group running. */
export async function runConfined(argv: string[], options: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const child = spawn(argv, options);
  let cancelled = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    cancelled = true;
    signalGroup(child, "SIGTERM");
    killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), options.graceMs);
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  const out = new HeadBuffer(options.capBytes);
  const err = new HeadBuffer(options.capBytes);
  const readers = options.stdio === "capture"
    ? [child.stdout.getReader(), child.stderr.getReader()]
    : [];
  const drained = Promise.all(readers.map((r, i) => pump(r, i === 0 ? out : err)));
  let status: Deno.CommandStatus;
  try {
    status = await child.status;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    clearTimeout(killTimer);
    // What the program left in its group goes with it. The group outlives its leader while a
    // member runs, so its id cannot have been reused by then.
    signalGroup(child, "SIGKILL");
  }
  // Output still in the pipes is read for at most graceMs more: a process that left the group
  // (its own setsid) could hold them open for ever.
  let lateTimer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => (lateTimer = setTimeout(resolve, options.graceMs)));
  await Promise.race([drained, late]);
  clearTimeout(lateTimer);
  for (const reader of readers) await reader.cancel().catch(() => {});
  await drained;
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    cancelled,
    ...(options.stdio === "capture" ? { stdout: out.captured(), stderr: err.captured() } : {}),
    durationMs: Math.round(performance.now() - started),
  };
}
