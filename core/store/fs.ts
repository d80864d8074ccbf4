/**
 * File-system primitives with the durability rules of docs/transactions.md: writes go to a temp
 * name in the same directory, are fsynced, then renamed; the parent directory is fsynced after.
 * Every call walks from its anchor without following links (see anchored.ts) and never opens a
 * FIFO or device as a file. Errors become NxError (`io.no_space` for ENOSPC, `io.failed`
 * otherwise, `root.unsafe_entry` for a link or special file inside a root).
 */
import { basename, dirname } from "node:path";
import { NxError } from "../errors.ts";
import { atParent, openDirAt, unsafeEntry } from "./anchored.ts";
import { checkIoFault } from "./faults.ts";
import { type DirHandle, FileHandle, isErrno, type Stat } from "./handles.ts";

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

/** Runs a synchronous file-system body, mapping its errors (async for the callers' sake). */
// deno-lint-ignore require-await -- callers await; the calls are direct on purpose (fast, no gaps)
export async function io<T>(action: string, path: string, body: () => T): Promise<T> {
  try {
    return body();
  } catch (e) {
    throw ioError(action, path, e);
  }
}

const missing = (e: unknown) => isErrno(e, "ENOENT") || e instanceof Deno.errors.NotFound;

/** lstat of `path`; undefined when it (or a parent) does not exist. */
export function lstatAt(path: string): Promise<Stat | undefined> {
  return io("stat", path, () => {
    try {
      return atParent(path, (dir, name) => dir.stat(name));
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  });
}

export async function exists(path: string): Promise<boolean> {
  return (await lstatAt(path)) !== undefined;
}

function syncDirAt(path: string): void {
  const dir = openDirAt(path);
  try {
    checkIoFault("fsync", path);
    dir.sync();
  } finally {
    dir.close();
  }
}

export function fsyncDir(path: string): Promise<void> {
  return io("fsync", path, () => syncDirAt(path));
}

export function mkdirp(path: string, mode = 0o755): Promise<void> {
  return io("create directory", path, () => openDirAt(path, mode).close());
}

let tempCounter = 0;
export function tempName(path: string): string {
  tempCounter += 1;
  return `${dirname(path)}/.${basename(path)}.${Deno.pid}.${tempCounter}.tmp`;
}

/**
 * Removes the temp files and temp trees {@link tempName} made in `dir` for process `pid` (one
 * that died holding the root's lock: its atomic writes never reached their rename, its bundle
 * stage was never adopted, see stage.ts). Regular files and real directories only (a tree is
 * removed without following a link).
 */
export function removeTempsOf(dir: string, pid: number): Promise<void> {
  const mine = new RegExp(`^\\..+\\.${pid}\\.[0-9]+\\.tmp$`);
  return io("remove", dir, () => {
    const handle = openDirAt(dir);
    try {
      for (const entry of handle.entries()) {
        if (!mine.test(entry.name)) continue;
        const type = handle.stat(entry.raw)?.type;
        if (type === "file") handle.unlink(entry.raw);
        else if (type === "dir") handle.removeTree(entry.raw);
      }
    } finally {
      handle.close();
    }
  });
}

/** Writes all bytes (the fault hook sits here); no sync. */
export function writeAll(file: FileHandle, data: Uint8Array): void {
  checkIoFault("write", file.path);
  file.writeAll(data);
}

/** Writes all bytes and fsyncs the file. */
export function writeAllDurably(file: FileHandle, data: Uint8Array): void {
  writeAll(file, data);
  checkIoFault("fsync", file.path);
  file.sync();
}

/**
 * A new file open for writing, never through a link and never over an existing name, and not
 * synced: scratch that nothing relies on after a crash (an agent's uploads, which a call verifies
 * and stages durably itself).
 */
export function createScratchFile(path: string, mode = 0o644): FileHandle {
  return atParent(
    path,
    (dir, name) => dir.openFile(name, { write: true, create: mode, exclusive: true }),
  );
}

/**
 * A file created exclusively (never through a link: a name already there, link or not, is
 * refused), then only appended to: the transaction journal. An append is durable when `sync`
 * says so; one that is not becomes durable with the next synced append (same file, written in
 * order), so a crash keeps a prefix of the appends, the last one possibly torn.
 */
export class AppendOnlyFile {
  private constructor(private readonly file: FileHandle, readonly path: string) {}

  /** Creates the file holding `first`, durably: the bytes synced, then the parent directory. */
  static create(path: string, first: Uint8Array, mode = 0o644): AppendOnlyFile {
    return atParent(path, (dir, name) => {
      const file = new AppendOnlyFile(
        dir.openFile(name, { write: true, create: mode, exclusive: true }),
        path,
      );
      try {
        file.append(first, true);
        checkIoFault("fsync", dirname(path));
        dir.sync();
      } catch (e) {
        file.close();
        throw e;
      }
      return file;
    });
  }

  append(data: Uint8Array, sync: boolean): void {
    writeAll(this.file, data);
    if (!sync) return;
    checkIoFault("fsync", this.path);
    this.file.datasync();
  }

  close(): void {
    this.file.close();
  }
}

/** Atomically replaces `path` with `data` (temp + fsync + rename + fsync of the parent). */
export function writeFileAtomic(
  path: string,
  data: Uint8Array,
  mode = 0o644,
): Promise<void> {
  return io("write", path, () =>
    atParent(path, (dir, name) => {
      const tmp = basename(tempName(path));
      try {
        const file = dir.openFile(tmp, { write: true, create: mode, exclusive: true });
        try {
          file.chmod(mode);
          writeAllDurably(file, data);
        } finally {
          file.close();
        }
        dir.rename(tmp, dir, name);
      } catch (e) {
        try {
          dir.unlink(tmp);
        } catch { /* never created, or gone */ }
        throw e;
      }
      checkIoFault("fsync", dirname(path));
      dir.sync();
    }));
}

/** Opens a regular file for reading; a link, FIFO or device there is `root.unsafe_entry`. */
export function openRegular(dir: DirHandle, name: string, path: string): FileHandle {
  let file: FileHandle;
  try {
    file = dir.openFile(name);
  } catch (e) {
    if (isErrno(e, "ELOOP")) throw unsafeEntry(path, e);
    throw e;
  }
  if (file.stat().type !== "file") {
    file.close();
    throw unsafeEntry(path);
  }
  return file;
}

/**
 * Reads the rest of a file whose size is `size`; a file that grew meanwhile is an error. The
 * bytes land in a buffer of exactly `size` (copied only if the file shrank): a second copy of a
 * 15 MiB payload is 15 MiB of fresh pages, ~80 ms of page faults in a new process on a VM.
 */
export function readAll(file: FileHandle, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let n = 0;
  for (let got; n < size && (got = file.read(out.subarray(n))) > 0;) n += got;
  if (n === size && file.read(new Uint8Array(1)) > 0) throw new Error("it grew while being read");
  return n === size ? out : out.slice(0, n);
}

/** Reads a whole regular file (at most `cap` bytes, else `io.failed`); `fallback` when missing. */
export function readFileOr<T>(
  path: string,
  fallback: T,
  cap = 64 * 1024 * 1024,
): Promise<Uint8Array | T> {
  return io("read", path, () => {
    try {
      return atParent(path, (dir, name) => {
        const file = openRegular(dir, name, path);
        try {
          const size = file.stat().size;
          if (size > cap) throw new Error(`larger than ${cap} bytes`);
          return readAll(file, size);
        } finally {
          file.close();
        }
      });
    } catch (e) {
      if (missing(e)) return fallback;
      throw e;
    }
  });
}

/** Deletes `path` and everything below it; a link is removed, never followed. */
export function removeTree(path: string): Promise<void> {
  return io("remove", path, () => {
    try {
      atParent(path, (dir, name) => dir.removeTree(name));
    } catch (e) {
      if (!missing(e)) throw e;
    }
  });
}

/** Removes an empty directory; a missing or non-empty one is left alone. */
export function removeIfEmpty(path: string): Promise<void> {
  return io("remove", path, () => {
    try {
      atParent(path, (dir, name) => dir.rmdir(name));
    } catch (e) {
      if (!missing(e) && !isErrno(e, "ENOTEMPTY", "EEXIST")) throw e;
    }
  });
}

/** Renames `from` to `to` (no link followed on either side). */
export function rename(from: string, to: string): Promise<void> {
  return io(
    "move",
    from,
    () =>
      atParent(from, (a, fromName) => atParent(to, (b, toName) => a.rename(fromName, b, toName))),
  );
}

/**
 * Descriptors a {@link Durable} keeps open before it syncs and closes them (fdatasync mode): a
 * bundle of a few hundred files is synced in one round, after its last byte (well below the
 * 1,024 descriptors of a default soft limit).
 */
const SYNC_BATCH = 256;

/** fdatasyncs in flight at once: enough for the disk to merge them, few threads. */
export const SYNC_CONCURRENCY = 16;

/**
 * Does syncfs(2) report writeback errors? Since Linux 5.8 it returns the file system's
 * unreported ones (errseq on the superblock); before, it could return 0 after a failed write.
 */
export function syncfsReportsErrors(release = Deno.osRelease()): boolean {
  const [major, minor] = release.split(/[.-]/).map(Number);
  return major > 5 || (major === 5 && minor >= 8);
}

/** Asked once, on the first Durable: importing this module needs no `--allow-sys`. */
let syncfsOk: boolean | undefined;

/**
 * Makes written files and then their directories durable, after everything was written (as
 * dpkg does, so the kernel writes back in parallel), before anything is published (renamed into
 * place: nothing is before `finish` returns).
 *
 * How: one syncfs(2) per file system the files are on (OSTree's choice): the kernel writes back
 * every dirty page and inode there, the journal commits once and the disk's cache is flushed
 * once. Per-file fdatasyncs cost one flush each — 246 files: 35 ms against 13 ms on this host's
 * ext4, and each flush is a host fdatasync for a QEMU guest. The directories' entries are in
 * that commit too, so a directory on a synced file system needs no fsync of its own. It also
 * writes back what others left dirty on that file system, a cost a package manager can carry.
 * On kernels whose syncfs may hide a failed write (before 5.8), the files' fdatasyncs instead:
 * SYNC_CONCURRENCY at a time (FileHandle.datasyncAll), in batches of SYNC_BATCH descriptors,
 * then every directory, deepest first.
 */
export class Durable {
  #files: FileHandle[] = [];
  /** syncfs mode: one open file per file system (by device), synced at `finish`. */
  #anchors = new Map<bigint, FileHandle>();
  /** syncfs mode: every file the syncs cover (an injected fsync fault may name any of them). */
  #covered: string[] = [];
  #dirs = new Set<string>();

  constructor(private readonly syncfs = (syncfsOk ??= syncfsReportsErrors())) {}

  /**
   * Runs `write` on a newly created file, then keeps the file to sync later (it may be synced
   * and closed at once, so nothing may write to it afterwards). A file whose `write` fails is
   * closed.
   */
  fill<T>(file: FileHandle, write: (file: FileHandle) => T): T {
    let result: T;
    try {
      result = write(file);
    } catch (e) {
      file.close();
      throw e;
    }
    if (this.syncfs) this.#anchor(file);
    else {
      this.#files.push(file);
      if (this.#files.length >= SYNC_BATCH) this.#flush();
    }
    return result;
  }

  dir(path: string): void {
    this.#dirs.add(path);
  }

  /** Keeps the first file of each file system open (syncfs needs a descriptor there). */
  #anchor(file: FileHandle): void {
    this.#covered.push(file.path);
    const dev = file.stat().dev;
    if (this.#anchors.has(dev)) file.close();
    else this.#anchors.set(dev, file);
  }

  #flush(): void {
    const files = this.#files;
    this.#files = [];
    try {
      for (const file of files) checkIoFault("fsync", file.path);
      FileHandle.datasyncAll(files, SYNC_CONCURRENCY);
    } finally {
      for (const file of files) file.close();
    }
  }

  /** Every file durable, then every directory (deepest first) not on a synced file system. */
  finish(): void {
    if (!this.syncfs) this.#flush();
    const anchors = this.#anchors;
    this.#anchors = new Map();
    try {
      for (const path of this.#covered.splice(0)) checkIoFault("fsync", path);
      for (const file of anchors.values()) file.syncFileSystem();
    } finally {
      for (const file of anchors.values()) file.close();
    }
    const dirs = [...this.#dirs].sort((a, b) => b.length - a.length);
    for (const path of dirs) {
      const dir = atParent(path, (parent, name) => parent.stat(name));
      if (dir === undefined || !anchors.has(dir.dev)) syncDirAt(path);
    }
  }

  /** Closes what is still open without syncing (the write failed; the tree is discarded). */
  abandon(): void {
    for (const file of [...this.#files, ...this.#anchors.values()]) file.close();
    this.#files = [];
    this.#anchors = new Map();
    this.#covered = [];
  }
}
