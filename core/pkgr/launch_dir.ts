/**
 * Where a launch puts the copy it executes: a fresh 0700 directory (mkdtemp) in the OS temp
 * directory, else in $XDG_RUNTIME_DIR, on the first of them whose file system is not mounted
 * `noexec` (statvfs ST_NOEXEC). Not below the root: a launch is a reader that creates nothing
 * there, pkg/staging belongs to transactions (doctor reports what they did not make, and a
 * purge would delete a running launch's copy), and a copy left by a killed nx is the OS's temp
 * to clean, not a finding of the root.
 */
import { tmpdir } from "node:os";
import { NxError } from "../errors.ts";

const ST_NOEXEC = 8;
/** Offset of f_flag in glibc's struct statvfs on x86-64 (eight unsigned longs before it). */
const F_FLAG_OFFSET = 72;
const STATVFS_SIZE = 112;

const SYMBOLS = {
  statvfs: { parameters: ["buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] | undefined;

/** Whether the file system holding `path` lets programs run from it (false if unknown). */
export function allowsExec(path: string): boolean {
  lib ??= Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  const buf = new Uint8Array(STATVFS_SIZE + 16);
  if (lib.statvfs(new TextEncoder().encode(path + "\0"), buf) !== 0) return false;
  const flags = new DataView(buf.buffer).getBigUint64(F_FLAG_OFFSET, true);
  return (flags & BigInt(ST_NOEXEC)) === 0n;
}

/** The default places, in order: the OS temp directory ($TMPDIR, else /tmp), $XDG_RUNTIME_DIR. */
export function defaultScratchDirs(): string[] {
  const runtime = Deno.env.get("XDG_RUNTIME_DIR");
  return [tmpdir(), ...(runtime?.startsWith("/") ? [runtime] : [])];
}

/** Makes the private directory of one launch; `launch.unsupported` when no candidate can exec. */
export async function makeLaunchDir(app: string, candidates: readonly string[]): Promise<string> {
  const refused: string[] = [];
  for (const parent of candidates) {
    let dir: string;
    try {
      dir = await Deno.makeTempDir({ dir: parent, prefix: "nx-launch-" }); // mode 0700
    } catch {
      refused.push(`${parent} (not writable)`);
      continue;
    }
    if (allowsExec(dir)) return dir;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    refused.push(`${parent} (noexec)`);
  }
  throw new NxError(
    "launch.unsupported",
    `cannot launch ${app}: no temporary directory where a program may run`,
    {
      details: { app, refused },
      hint: "set TMPDIR to a writable directory on a file system mounted without noexec",
    },
  );
}
