/**
 * What Linux says about a process, from /proc: enough to tell whether a recorded pid is still
 * the process that was recorded (same boot, same start time, same command line) and whether it
 * is gone.
 */
import { DirHandle } from "../store/mod.ts";

export interface ProcStat {
  /** One letter: R, S, D, Z (zombie), T, X (dead), … */
  state: string;
  pgrp: number;
  session: number;
  /** Start time in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  startTicks: number;
}

// Deno 2 refuses to read /proc without --allow-all, which nx does not run with; these three
// libc calls (bound on first use, like core/store/_libc.ts) read it under --allow-ffi.
const SYMBOLS = {
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;
const AT_FDCWD = -100;
const O_RDONLY_CLOEXEC = 0o2000000;
/** ENOENT, ESRCH: no such process (any more). */
const GONE = new Set([2, 3]);

function errno(): number {
  const at = lib!.__errno_location();
  return at === null ? 0 : new Deno.UnsafePointerView(at).getInt32();
}

/** The text of a /proc file, or undefined when it (the process) does not exist. */
export function readProc(path: string): string | undefined {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  const fd = lib.openat(AT_FDCWD, new TextEncoder().encode(path + "\0"), O_RDONLY_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    if (GONE.has(e)) return undefined;
    throw new Error(`cannot open ${path}: errno ${e}`);
  }
  try {
    const chunks: Uint8Array[] = [];
    const buffer = new Uint8Array(4096);
    while (true) {
      const n = Number(lib.read(fd, buffer, BigInt(buffer.length)));
      if (n === 0) break;
      if (n < 0) {
        const e = errno();
        if (GONE.has(e)) return undefined;
        throw new Error(`cannot read ${path}: errno ${e}`);
      }
      chunks.push(buffer.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((t, c) => t + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return new TextDecoder().decode(all);
  } finally {
    lib.close(fd);
  }
}

/** Parses /proc/<pid>/stat; the command name in parentheses may hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  // Fields after the name start at field 3 (state): field n is rest[n - 3].
  const rest = text.slice(close + 2).trim().split(" ");
  const [state, pgrp, session, startTicks] = [rest[0], rest[2], rest[3], rest[19]];
  if (!state || ![pgrp, session, startTicks].every((f) => f !== undefined && /^\d+$/.test(f))) {
    return undefined;
  }
  return {
    state,
    pgrp: Number(pgrp),
    session: Number(session),
    startTicks: Number(startTicks),
  };
}

/** The process's stat, or undefined when no process has this pid. */
export function procStat(pid: number): ProcStat | undefined {
  const text = readProc(`/proc/${pid}/stat`);
  return text === undefined ? undefined : parseStat(text);
}

/** The process's argv (empty for a zombie or a vanished process). */
export function procArgv(pid: number): string[] {
  const text = readProc(`/proc/${pid}/cmdline`);
  if (!text) return [];
  return text.replace(/\0$/, "").split("\0");
}

/** A fresh id per boot: a pid recorded during another boot names nothing. */
export function bootId(): string {
  const id = readProc("/proc/sys/kernel/random/boot_id");
  if (id === undefined) throw new Error("cannot read the boot id: /proc is not mounted");
  return id.trim();
}

/** A zombie (or dead) process runs no more code and writes nothing. */
export const isDead = (s: ProcStat | undefined) =>
  s === undefined || s.state === "Z" || s.state === "X";

/**
 * Whether a process of group `pgid` still runs (zombies do not count). A SIGKILL sent to a group
 * reaches every member at once, but each dies when it is next scheduled: the leader's death says
 * nothing of the others'. Lists /proc through the store's directory handle, which Deno's
 * permissions do not gate (see readProc).
 */
export function groupHasLiveMember(pgid: number): boolean {
  const proc = DirHandle.open("/proc");
  try {
    return proc.entries().some(({ name }) => {
      if (!/^[1-9][0-9]*$/.test(name)) return false;
      const stat = procStat(Number(name));
      return !isDead(stat) && stat!.pgrp === pgid;
    });
  } finally {
    proc.close();
  }
}
