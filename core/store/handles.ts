/**
 * Descriptor-relative file access that never follows a link: every name is one path component
 * opened with `openat(…, O_NOFOLLOW | O_NONBLOCK)` below a directory descriptor, so a link, FIFO
 * or device swapped in between a listing and an open is seen for what it is instead of followed,
 * blocked on or read. This is the one way nx walks, opens, creates, renames and deletes inside a
 * state root, a bundle or an app's data (docs/transactions.md, "Links and special files").
 */
import {
  aio,
  AIO_DSYNC,
  AIOCB_NOTIFY_OFFSET,
  AIOCB_SIZE,
  AT_FDCWD,
  AT_REMOVEDIR,
  AT_SYMLINK_NOFOLLOW,
  check,
  cString,
  direntName,
  EINPROGRESS,
  errno,
  libc,
  LOCK_EX,
  LOCK_NB,
  O,
  parseStat,
  retry,
  SIGEV_NONE,
  type Stat,
  STAT_SIZE,
  SysError,
} from "./_libc.ts";

export type { EntryType, Stat } from "./_libc.ts";
export { SysError } from "./_libc.ts";

const ALWAYS = O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC | O.NOCTTY;
const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();

export type Name = string | Uint8Array;

/** A name is one component: never empty, `.`, `..`, or containing `/` or NUL. */
function component(name: Name): Uint8Array<ArrayBuffer> {
  const c = cString(name);
  const n = c.length - 1;
  const dots = (n === 1 && c[0] === 0x2e) || (n === 2 && c[0] === 0x2e && c[1] === 0x2e);
  if (n === 0 || dots || c.subarray(0, n).includes(0x2f)) throw new SysError("name", 22);
  return c;
}

const show = (name: Name) => typeof name === "string" ? name : lossy.decode(name);

export function isErrno(e: unknown, ...codes: string[]): e is SysError {
  return e instanceof SysError && codes.includes(e.code);
}

export class FileHandle {
  #fd: number;

  constructor(fd: number, readonly path: string) {
    this.#fd = fd;
  }

  stat(): Stat {
    const buf = new Uint8Array(STAT_SIZE);
    check("fstat", libc().fstat(this.#fd, buf));
    return parseStat(buf);
  }

  /** Reads into `buffer`; 0 at end of file. */
  read(buffer: Uint8Array): number {
    const into = buffer as Uint8Array<ArrayBuffer>;
    return Number(retry("read", () => libc().read(this.#fd, into, BigInt(into.length))));
  }

  writeAll(data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const rest = data.subarray(done) as Uint8Array<ArrayBuffer>;
      done += Number(retry("write", () => libc().write(this.#fd, rest, BigInt(rest.length))));
    }
  }

  datasync(): void {
    retry("fdatasync", () => libc().fdatasync(this.#fd));
  }

  sync(): void {
    retry("fsync", () => libc().fsync(this.#fd));
  }

  /**
   * syncfs(2): every dirty page and inode of the file system this file is on, written and
   * waited for, then one journal commit and cache flush — where per-file fdatasyncs cost a flush
   * each. Its errors include earlier writeback failures on that file system (Linux ≥ 5.8).
   */
  syncFileSystem(): void {
    retry("syncfs", () => libc().syncfs(this.#fd));
  }

  /**
   * fdatasyncs every file, at most `limit` at a time, and returns when all are durable. The
   * syncs run on glibc's AIO threads (so the disk sees them together, as from a thread pool)
   * while this call blocks; a file whose request cannot be queued is synced here instead. The
   * first failure is thrown (a SysError with its errno) once no request is in flight any more.
   */
  static datasyncAll(files: readonly FileHandle[], limit: number): void {
    const calls = aio();
    if (calls === null || files.length < 2 || limit < 2) {
      for (const file of files) file.datasync();
      return;
    }
    const pending: { cb: Uint8Array<ArrayBuffer>; address: bigint }[] = [];
    let failure: unknown;
    let next = 0;
    const submit = (file: FileHandle) => {
      const cb = new Uint8Array(AIOCB_SIZE);
      const view = new DataView(cb.buffer);
      view.setInt32(0, file.#fd, true);
      view.setInt32(AIOCB_NOTIFY_OFFSET, SIGEV_NONE, true);
      if (calls.aio_fsync(AIO_DSYNC, cb) === 0) {
        pending.push({ cb, address: BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(cb))) });
        return;
      }
      try {
        file.datasync(); // not queued (no AIO resources left): synced here, one at a time
      } catch (e) {
        failure ??= e;
      }
    };
    while (next < files.length || pending.length > 0) {
      while (failure === undefined && next < files.length && pending.length < limit) {
        submit(files[next++]);
      }
      if (failure !== undefined) next = files.length;
      if (pending.length === 0) continue;
      const list = new BigUint64Array(pending.map((p) => p.address));
      calls.aio_suspend(list, pending.length, null); // -1 (EINTR): the loop below looks again
      for (let i = pending.length - 1; i >= 0; i--) {
        const code = calls.aio_error(pending[i].cb);
        if (code === EINPROGRESS) continue;
        calls.aio_return(pending[i].cb);
        if (code !== 0) failure ??= new SysError("fdatasync", code);
        pending.splice(i, 1);
      }
    }
    if (failure !== undefined) throw failure;
  }

  truncate(size = 0): void {
    retry("ftruncate", () => libc().ftruncate(this.#fd, BigInt(size)));
  }

  chmod(perm: number): void {
    check("fchmod", libc().fchmod(this.#fd, perm));
  }

  chown(uid: number, gid: number): void {
    check("fchown", libc().fchown(this.#fd, uid, gid));
  }

  /** An exclusive flock without waiting; false when another descriptor holds it. */
  tryLock(): boolean {
    if (libc().flock(this.#fd, LOCK_EX | LOCK_NB) === 0) return true;
    const e = errno();
    if (e === 11) return false; // EWOULDBLOCK
    throw new SysError("flock", e);
  }

  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

export interface OpenOptions {
  write?: boolean;
  /** Create with this mode; with `exclusive`, an existing name is EEXIST. */
  create?: number;
  exclusive?: boolean;
  truncate?: boolean;
}

export interface DirEntry {
  /** The name as text (invalid UTF-8 replaced, see `utf8`). */
  name: string;
  /** The name's bytes, for calls on names that are not valid UTF-8. */
  raw: Uint8Array;
  utf8: boolean;
}

export class DirHandle {
  #fd: number;

  private constructor(fd: number, readonly path: string) {
    this.#fd = fd;
  }

  /**
   * Opens `path` as the anchor of a walk. Links in `path` itself are followed: the caller chose
   * it (a root, a bundle); nothing below it is.
   */
  static open(path: string): DirHandle {
    const fd = retry(
      "open",
      () => libc().openat(AT_FDCWD, cString(path), O.DIRECTORY | O.CLOEXEC, 0),
    );
    return new DirHandle(fd, path);
  }

  #child(name: Name): string {
    return `${this.path}/${show(name)}`;
  }

  /** Opens a subdirectory; a link or non-directory there is ENOTDIR (or ELOOP). */
  openDir(name: Name): DirHandle {
    const fd = retry(
      "open",
      () => libc().openat(this.#fd, component(name), O.RDONLY | O.DIRECTORY | ALWAYS, 0),
    );
    return new DirHandle(fd, this.#child(name));
  }

  /** Opens a file below this directory; never follows a link and never blocks on a FIFO. */
  openFile(name: Name, options: OpenOptions = {}): FileHandle {
    let flags = (options.write ? O.RDWR : O.RDONLY) | ALWAYS;
    if (options.create !== undefined) flags |= O.CREAT | (options.exclusive ? O.EXCL : 0);
    if (options.truncate) flags |= O.TRUNC;
    const mode = options.create ?? 0;
    const fd = retry("open", () => libc().openat(this.#fd, component(name), flags, mode));
    return new FileHandle(fd, this.#child(name));
  }

  /** lstat of one entry; undefined when it does not exist. */
  stat(name: Name): Stat | undefined {
    const buf = new Uint8Array(STAT_SIZE);
    if (libc().fstatat(this.#fd, component(name), buf, AT_SYMLINK_NOFOLLOW) === 0) {
      return parseStat(buf);
    }
    const e = errno();
    if (e === 2) return undefined;
    throw new SysError("lstat", e);
  }

  statSelf(): Stat {
    const buf = new Uint8Array(STAT_SIZE);
    check("fstat", libc().fstat(this.#fd, buf));
    return parseStat(buf);
  }

  /** Every entry but `.` and `..`, in the directory's order. */
  entries(): DirEntry[] {
    const fd = check("dup", libc().dup(this.#fd));
    const dir = libc().fdopendir(fd);
    if (dir === null) {
      const e = errno();
      libc().close(fd);
      throw new SysError("fdopendir", e);
    }
    const out: DirEntry[] = [];
    try {
      for (;;) {
        const next = libc().readdir(dir);
        if (next === null) break;
        const raw = direntName(next);
        const isDots = (raw.length === 1 && raw[0] === 0x2e) ||
          (raw.length === 2 && raw[0] === 0x2e && raw[1] === 0x2e);
        if (isDots) continue;
        const copy = raw.slice();
        let name: string;
        let utf8 = true;
        try {
          name = strict.decode(copy);
        } catch {
          name = lossy.decode(copy);
          utf8 = false;
        }
        out.push({ name, raw: copy, utf8 });
      }
    } finally {
      libc().closedir(dir); // also closes the dup'ed descriptor
    }
    return out;
  }

  /** Names of the entries, sorted (a directory of valid UTF-8 names). */
  list(): string[] {
    return this.entries().map((e) => e.name).sort();
  }

  /** Creates a directory; false when the name exists already (of any type). */
  mkdir(name: Name, mode: number): boolean {
    if (libc().mkdirat(this.#fd, component(name), mode) === 0) return true;
    const e = errno();
    if (e === 17) return false;
    throw new SysError("mkdir", e);
  }

  unlink(name: Name): void {
    check("unlink", libc().unlinkat(this.#fd, component(name), 0));
  }

  rmdir(name: Name): void {
    check("rmdir", libc().unlinkat(this.#fd, component(name), AT_REMOVEDIR));
  }

  /** rename(2) between two directory descriptors; never follows `name` or `toName`. */
  rename(name: Name, to: DirHandle, toName: Name): void {
    check("rename", libc().renameat(this.#fd, component(name), to.#fd, component(toName)));
  }

  symlink(target: string, name: Name): void {
    check("symlink", libc().symlinkat(cString(target), this.#fd, component(name)));
  }

  /** The target of a link; undefined when `name` is missing or not a link. */
  readLink(name: Name): string | undefined {
    const buf = new Uint8Array(4096);
    const n = Number(libc().readlinkat(this.#fd, component(name), buf, BigInt(buf.length)));
    if (n >= 0) return lossy.decode(buf.subarray(0, n));
    const e = errno();
    if (e === 2 || e === 22) return undefined;
    throw new SysError("readlink", e);
  }

  /**
   * Deletes `name` and, when it is a real directory, everything below it. Links are removed, never
   * followed; a directory swapped for a link while the walk runs is ELOOP, never traversed.
   */
  removeTree(name: Name): void {
    const info = this.stat(name);
    if (info === undefined) return;
    if (info.type !== "dir") {
      this.#ignoreMissing(() => this.unlink(name));
      return;
    }
    const dir = this.openDir(name);
    try {
      for (const entry of dir.entries()) dir.removeTree(entry.raw);
    } finally {
      dir.close();
    }
    this.#ignoreMissing(() => this.rmdir(name));
  }

  #ignoreMissing(run: () => void): void {
    try {
      run();
    } catch (e) {
      if (!isErrno(e, "ENOENT")) throw e;
    }
  }

  sync(): void {
    retry("fsync", () => libc().fsync(this.#fd));
  }

  chmod(perm: number): void {
    check("fchmod", libc().fchmod(this.#fd, perm));
  }

  chown(uid: number, gid: number): void {
    check("fchown", libc().fchown(this.#fd, uid, gid));
  }

  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** Runs `body` with `dir`, closing it afterwards. */
export function using<T>(dir: DirHandle, body: (dir: DirHandle) => T): T {
  try {
    return body(dir);
  } finally {
    dir.close();
  }
}
