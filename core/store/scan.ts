/**
 * A read-only scan of a whole state root, for `nx pkg doctor`: the root is opened once and every
 * directory below it relative to its parent's descriptor with `O_NOFOLLOW`, each listed with
 * `getdents64` straight into a buffer and each entry lstat'ed with `fstatat` relative to the
 * same descriptor. Nothing is followed: a directory swapped for a link after its listing fails
 * to open (`undefined`) instead of being traversed, and a file is read only when, opened without
 * following a link or blocking, it is still the regular file of the size the listing saw.
 *
 * Why not `DirHandle` (handles.ts): its listing goes through `fdopendir`/`readdir`, seven calls
 * per directory where two do, and an fsck of 1,000 apps lists 12,000 directories; doctor's cost
 * must follow the bytes it re-hashes, not the calls around them. Synchronous on purpose, as in
 * bundle_reader.ts: each awaited call would cost far more than the call itself.
 */
import { createHash } from "node:crypto";
import {
  AARCH64,
  AT_FDCWD,
  AT_SYMLINK_NOFOLLOW,
  type EntryType,
  errno,
  libc,
  O,
  retry,
  STAT_SIZE,
  SysError,
  TYPES,
} from "./_libc.ts";
import { READ_CHUNK } from "./bundle_reader.ts";
import { ioError } from "./fs.ts";

const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC | O.NOCTTY;
const FILE_FLAGS = O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC | O.NOCTTY;
const DENTS_SIZE = 64 * 1024;

const GETDENTS = {
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
} as const satisfies Deno.ForeignLibraryInterface;

let dents: Deno.DynamicLibrary<typeof GETDENTS>["symbols"] | undefined;
/** `getdents64(2)`: in glibc since 2.30; bound on first use, like _libc.ts. */
const getdents = () => (dents ??= Deno.dlopen("libc.so.6", GETDENTS).symbols);

const strict = new TextDecoder("utf-8", { fatal: true });
const lossy = new TextDecoder();

/** What doctor holds an entry to, from its lstat. */
export interface ScanInfo {
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  perm: number;
  uid: number;
  size: number;
  nlink: number;
}

export interface ScanEntry {
  /** The name as text (invalid UTF-8 replaced). */
  name: string;
  /** The path: the scanned directory's path, `/`, the name. */
  path: string;
  /** lstat of the entry, taken relative to the directory's descriptor. */
  info: ScanInfo;
}

/** Buffers one scan and its subdirectories share (synchronous: never two calls at once). */
interface Buffers {
  dents: Uint8Array<ArrayBuffer>;
  stat: Uint8Array<ArrayBuffer>;
  link: Uint8Array<ArrayBuffer>;
  read?: Uint8Array<ArrayBuffer>;
}

/**
 * The fields of a `struct stat` doctor needs, read in place (`parseStat` reads them all, device
 * and inode as BigInts: tens of thousands of allocations an fsck does not need).
 */
function scanInfo(stat: Uint8Array<ArrayBuffer>): ScanInfo {
  const v = new DataView(stat.buffer);
  const mode = v.getUint32(AARCH64 ? 16 : 24, true);
  return {
    type: TYPES[mode & 0o170000] ?? "fifo",
    perm: mode & 0o7777,
    uid: v.getUint32(AARCH64 ? 24 : 28, true),
    size: v.getUint32(48, true) + v.getInt32(52, true) * 2 ** 32,
    nlink: AARCH64
      ? v.getUint32(20, true)
      : v.getUint32(16, true) + v.getUint32(20, true) * 2 ** 32,
  };
}

/** A name's text: ASCII (nearly every name) without a decoder call, else strict UTF-8, else lossy. */
function nameOf(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i] < 0x80;
  if (ascii) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  try {
    return strict.decode(bytes);
  } catch {
    return lossy.decode(bytes);
  }
}

const GONE = new Set(["ELOOP", "ENOTDIR", "ENOENT", "ENXIO"]);
const gone = (e: unknown) => e instanceof SysError && GONE.has(e.code);

export class DirScan {
  #fd: number;
  /** Each listed entry's name as NUL-terminated bytes (what the calls take), by text name. */
  #names = new Map<string, Uint8Array<ArrayBuffer>>();

  private constructor(fd: number, readonly path: string, private readonly buffers: Buffers) {
    this.#fd = fd;
  }

  /** Opens a state root (its own path as given: the caller chose it; nothing below is followed). */
  static openRoot(root: string): DirScan {
    const path = new TextEncoder().encode(`${root}\0`);
    try {
      const fd = retry("open", () => libc().openat(AT_FDCWD, path, O.DIRECTORY | O.CLOEXEC, 0));
      return new DirScan(fd, root, {
        dents: new Uint8Array(DENTS_SIZE),
        stat: new Uint8Array(STAT_SIZE),
        link: new Uint8Array(4096),
      });
    } catch (e) {
      throw ioError("list", root, e);
    }
  }

  /** Every entry but `.` and `..`, sorted by name; one vanished since the listing is left out. */
  entries(): ScanEntry[] {
    const out: ScanEntry[] = [];
    const buf = this.buffers.dents;
    const view = new DataView(buf.buffer);
    try {
      for (;;) {
        const n = Number(
          retry("getdents64", () => getdents().getdents64(this.#fd, buf, BigInt(buf.length))),
        );
        if (n === 0) break;
        // struct linux_dirent64: d_ino 0, d_off 8, d_reclen 16, d_type 18, d_name 19 (NUL-ended).
        for (let at = 0; at < n; at += view.getUint16(at + 16, true)) {
          const start = at + 19;
          const end = buf.indexOf(0, start);
          const len = end - start;
          if (
            (len === 1 && buf[start] === 0x2e) ||
            (len === 2 && buf[start] === 0x2e && buf[start + 1] === 0x2e)
          ) continue;
          const raw = buf.slice(start, end + 1);
          const info = this.#stat(raw);
          if (info === undefined) continue;
          const name = nameOf(raw.subarray(0, len));
          this.#names.set(name, raw);
          out.push({ name, path: `${this.path}/${name}`, info });
        }
      }
    } catch (e) {
      throw ioError("list", this.path, e);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #stat(raw: Uint8Array<ArrayBuffer>): ScanInfo | undefined {
    const buf = this.buffers.stat;
    if (libc().fstatat(this.#fd, raw, buf, AT_SYMLINK_NOFOLLOW) === 0) return scanInfo(buf);
    const e = errno();
    if (e === 2) return undefined;
    throw new SysError("lstat", e);
  }

  #raw(entry: ScanEntry | string): Uint8Array<ArrayBuffer> {
    const name = typeof entry === "string" ? entry : entry.name;
    return this.#names.get(name) ?? new TextEncoder().encode(`${name}\0`);
  }

  /** The entry `name` of this directory, lstat'ed; undefined when it does not exist. */
  entry(name: string): ScanEntry | undefined {
    const { raw, path } = this.#target(name);
    try {
      const info = this.#stat(raw);
      return info && { name, path, info };
    } catch (e) {
      throw ioError("stat", path, e);
    }
  }

  /** The raw name and the path of an entry, or of a name (one component, never `/`, `.`, `..`). */
  #target(entry: ScanEntry | string): { raw: Uint8Array<ArrayBuffer>; path: string } {
    if (typeof entry !== "string") return { raw: this.#raw(entry), path: entry.path };
    if (entry === "" || entry === "." || entry === ".." || entry.includes("/")) {
      throw ioError("open", `${this.path}/${entry}`, new SysError("name", 22));
    }
    return { raw: this.#raw(entry), path: `${this.path}/${entry}` };
  }

  /**
   * Opens the subdirectory `entry` (from this scan's entries, or a name) relative to this
   * descriptor; undefined when it is not a directory (a link or a file, or missing).
   */
  sub(entry: ScanEntry | string): DirScan | undefined {
    const { raw, path } = this.#target(entry);
    try {
      const fd = retry("open", () => libc().openat(this.#fd, raw, DIR_FLAGS, 0));
      return new DirScan(fd, path, this.buffers);
    } catch (e) {
      if (gone(e)) return undefined;
      throw ioError("list", path, e);
    }
  }

  /** The target of the link `entry` (or name); undefined when it is missing or not a link. */
  readLink(entry: ScanEntry | string): string | undefined {
    const { raw, path } = this.#target(entry);
    const buf = this.buffers.link;
    const n = Number(libc().readlinkat(this.#fd, raw, buf, BigInt(buf.length)));
    if (n >= 0) return lossy.decode(buf.subarray(0, n));
    const e = errno();
    if (e === 2 || e === 22) return undefined;
    throw ioError("read link", path, new SysError("readlink", e));
  }

  /**
   * The SHA-256 of the regular file `entry`, streamed in 1 MiB reads; undefined when it is no
   * longer the regular file of the size the listing saw (swapped for a link, FIFO or device,
   * grown, shrunk): it is opened without following a link or blocking, so nothing else is read.
   */
  sha256(entry: ScanEntry): string | undefined {
    let fd: number;
    try {
      fd = retry("open", () => libc().openat(this.#fd, this.#raw(entry), FILE_FLAGS, 0));
    } catch (e) {
      if (gone(e)) return undefined;
      throw ioError("read", entry.path, e);
    }
    try {
      const stat = this.buffers.stat;
      if (libc().fstat(fd, stat) !== 0) throw new SysError("fstat", errno());
      const info = scanInfo(stat);
      if (info.type !== "file" || info.size !== entry.info.size) return undefined;
      const buf = (this.buffers.read ??= new Uint8Array(READ_CHUNK));
      const hash = createHash("sha256");
      // Each read asks for one byte more than should be left: a short read that completes the
      // size is the end of the file (a small file costs one read), and a file that grew is seen.
      for (let total = 0;;) {
        const want = Math.min(buf.length, info.size - total + 1);
        const n = Number(retry("read", () => libc().read(fd, buf, BigInt(want))));
        if (n === 0) return total === info.size ? hash.digest("hex") : undefined;
        total += n;
        if (total > info.size) return undefined;
        hash.update(buf.subarray(0, n));
        if (total === info.size && n < want) return hash.digest("hex");
      }
    } catch (e) {
      throw ioError("read", entry.path, e);
    } finally {
      libc().close(fd);
    }
  }

  close(): void {
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** Runs `body` with the scan of `dir` (undefined: not a directory any more), then closes it. */
export function within<T>(dir: DirScan | undefined, body: (dir: DirScan) => T): T | undefined {
  if (dir === undefined) return undefined;
  try {
    return body(dir);
  } finally {
    dir.close();
  }
}
