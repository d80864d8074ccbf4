/**
 * A guest's QEMU process, found through its -pidfile. QEMU runs daemonized (not nx's child), so
 * liveness comes from /proc: the pid must be a live (not zombie) process whose command line
 * names this guest's state directory — a reused pid is not taken for the guest. Deno reads
 * /proc only with --allow-all (which bin/nx does not grant), so `sh` and `cat` read it.
 */
import { NxError } from "../errors.ts";

export interface ProcInfo {
  /** The state letter of /proc/<pid>/stat (R, S, D, Z, …). */
  state: string;
  argv: string[];
  /** Seconds since the process started. */
  seconds: number;
}

const READ_PROC = 'cat /proc/uptime && cat "/proc/$1/stat" && cat "/proc/$1/cmdline"';

/** What /proc says about `pid`; undefined when there is no such process. */
export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", READ_PROC, "sh", String(pid)],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  if (!out.success) return undefined;
  return parseProc(new TextDecoder().decode(out.stdout));
}

/** Parses /proc/uptime, /proc/<pid>/stat and /proc/<pid>/cmdline, one after another. */
export function parseProc(text: string): ProcInfo | undefined {
  const uptimeEnd = text.indexOf("\n");
  const close = text.lastIndexOf(")");
  const statEnd = text.indexOf("\n", close);
  if (uptimeEnd < 0 || close < 0 || statEnd < 0) return undefined;
  const uptime = Number(text.slice(0, uptimeEnd).split(" ")[0]);
  // "pid (comm) S ppid …": the fields after the command name, state first; starttime is 22nd.
  const fields = text.slice(close + 2, statEnd).split(" ");
  const startTicks = Number(fields[19]);
  const argv = text.slice(statEnd + 1).split("\0").filter((a) => a !== "");
  // USER_HZ is 100 on every Linux nx runs on (x86_64).
  return { state: fields[0], argv, seconds: Math.max(0, Math.round(uptime - startTicks / 100)) };
}

/** Whether `pid` is a live process whose argv contains `needle`. */
export async function processMatches(pid: number, needle: string): Promise<boolean> {
  const info = await procInfo(pid);
  return info !== undefined && info.state !== "Z" && info.argv.some((a) => a.includes(needle));
}

/** The pid in a -pidfile; undefined when the file is missing or not a pid. */
export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(path)).trim();
    return /^[0-9]+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/** Waits up to `timeoutMs` for `alive` to turn false; true when it did. */
export async function waitGone(alive: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (await alive()) {
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

export function kill(pid: number): void {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new NxError("io.failed", `cannot stop QEMU (pid ${pid}): ${(e as Error).message}`, {
      cause: e,
    });
  }
}
