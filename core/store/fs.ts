/**
 * File-system primitives with the durability rules of docs/transactions.md: writes go to a temp
 * name in the same directory, are fsynced, then renamed; the parent directory is fsynced after.
 * Errors become NxError (`io.no_space` for ENOSPC, `io.failed` otherwise).
 */
import { basename, dirname } from "node:path";
import { NxError } from "../errors.ts";
import { checkIoFault } from "./faults.ts";

export function ioError(action: string, path: string, e: unknown): NxError {
  if (e instanceof NxError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const noSpace = /ENOSPC|No space left|os error 28/i.test(message);
  return new NxError(
    noSpace ? "io.no_space" : "io.failed",
    `cannot ${action} ${path}: ${message}`,
    {
      details: { path },
      cause: e,
    },
  );
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw ioError("stat", path, e);
  }
}

export async function fsyncDir(path: string): Promise<void> {
  let dir: Deno.FsFile | undefined;
  try {
    dir = await Deno.open(path, { read: true });
    checkIoFault("fsync", path);
    await dir.sync();
  } catch (e) {
    throw ioError("fsync", path, e);
  } finally {
    dir?.close();
  }
}

export async function mkdirp(path: string, mode = 0o755): Promise<void> {
  try {
    await Deno.mkdir(path, { recursive: true, mode });
  } catch (e) {
    throw ioError("create directory", path, e);
  }
}

let tempCounter = 0;
export function tempName(path: string): string {
  tempCounter += 1;
  return `${dirname(path)}/.${basename(path)}.${Deno.pid}.${tempCounter}.tmp`;
}

/** Atomically replaces `path` with `data` (temp + fsync + rename + fsync of the parent). */
export async function writeFileAtomic(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempName(path);
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true, mode });
    try {
      await writeAllSync(file, data, path);
    } finally {
      file.close();
    }
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw ioError("write", path, e);
  }
  await fsyncDir(dirname(path));
}

export async function readFileOr<T>(path: string, fallback: T): Promise<Uint8Array | T> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return fallback;
    throw ioError("read", path, e);
  }
}

export async function removeTree(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError("remove", path, e);
  }
}

/** Writes all bytes and fsyncs the file (the fault hooks sit here). */
export async function writeAllSync(
  file: Deno.FsFile,
  data: Uint8Array,
  path: string,
): Promise<void> {
  checkIoFault("write", path);
  let written = 0;
  while (written < data.length) written += await file.write(data.subarray(written));
  checkIoFault("fsync", path);
  await file.sync();
}

/**
 * Makes written files and then their directories durable. Writing everything first and syncing
 * after (as dpkg does) lets the kernel write back in parallel instead of one file at a time;
 * nothing is published (renamed into place) before this returns.
 */
export async function syncAll(files: string[], dirs: Set<string>): Promise<void> {
  for (const path of files) {
    checkIoFault("fsync", path);
    const file = Deno.openSync(path, { read: true });
    try {
      file.syncDataSync();
    } finally {
      file.close();
    }
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(d);
}
