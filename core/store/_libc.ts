/**
 * The few libc calls Deno does not expose and a safe walk needs: `openat` with O_NOFOLLOW and
 * O_NONBLOCK, `fstatat` without following, directory-relative create, rename, unlink, link and
 * readdir, flock on a raw descriptor, and statfs (here rather than from node:fs/promises, which
 * takes ~5 ms to load). Bound lazily (`dlopen` once, on first use), so commands that never touch a
 * root pay nothing. Linux only (x86_64 and aarch64 `struct stat` layouts).
 */

const SYMBOLS = {
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  fstatat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  renameat: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  fsync: { parameters: ["i32"], result: "i32" },
  fdatasync: { parameters: ["i32"], result: "i32" },
  syncfs: { parameters: ["i32"], result: "i32" },
  statfs: { parameters: ["buffer", "buffer"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  flock: { parameters: ["i32", "i32"], result: "i32" },
  dup: { parameters: ["i32"], result: "i32" },
  fdopendir: { parameters: ["i32"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let lib: Libc | undefined;

export function libc(): Libc {
  if (lib === undefined) {
    lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
    errnoView = new Deno.UnsafePointerView(lib.__errno_location()!);
  }
  return lib;
}

/**
 * glibc's POSIX AIO (in libc.so.6 since glibc 2.34, in librt.so.1 before): `aio_fsync` queues a
 * sync on glibc's own thread pool and `aio_error` returns the request's errno as its result, so
 * many fdatasyncs run at once while the caller stays synchronous (see `syncDataAll`).
 */
const AIO_SYMBOLS = {
  aio_fsync: { parameters: ["i32", "buffer"], result: "i32" },
  aio_error: { parameters: ["buffer"], result: "i32" },
  aio_return: { parameters: ["buffer"], result: "isize" },
  aio_suspend: { parameters: ["buffer", "i32", "pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

export type Aio = Deno.DynamicLibrary<typeof AIO_SYMBOLS>["symbols"];

let aioLib: Aio | null | undefined;

/** The AIO calls, or null when neither library has them (the caller syncs one at a time). */
export function aio(): Aio | null {
  if (aioLib !== undefined) return aioLib;
  aioLib = null;
  for (const name of ["libc.so.6", "librt.so.1"]) {
    try {
      aioLib = Deno.dlopen(name, AIO_SYMBOLS).symbols;
      break;
    } catch { /* not in this library */ }
  }
  return aioLib;
}

/** `struct aiocb` (glibc, 64-bit): aio_fildes at 0, aio_sigevent.sigev_notify at 44; 168 bytes. */
export const AIOCB_SIZE = 168;
export const AIOCB_NOTIFY_OFFSET = 44;
export const SIGEV_NONE = 1;
/** aio_fsync's operation for an fdatasync (O_DSYNC). */
export const AIO_DSYNC = 0o10000;
export const EINPROGRESS = 115;

export const O = {
  RDONLY: 0,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  DIRECTORY: Deno.build.arch === "aarch64" ? 0o40000 : 0o200000,
  NOFOLLOW: Deno.build.arch === "aarch64" ? 0o100000 : 0o400000,
  CLOEXEC: 0o2000000,
} as const;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const LOCK_UN = 8;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  5: "EIO",
  6: "ENXIO",
  11: "EAGAIN",
  13: "EACCES",
  16: "EBUSY",
  17: "EEXIST",
  18: "EXDEV",
  20: "ENOTDIR",
  21: "EISDIR",
  22: "EINVAL",
  24: "EMFILE",
  27: "EFBIG",
  28: "ENOSPC",
  30: "EROFS",
  36: "ENAMETOOLONG",
  39: "ENOTEMPTY",
  40: "ELOOP",
  115: "EINPROGRESS",
  122: "EDQUOT",
};

/** A failed system call: `errno` and its name, worded like Deno's own errors. */
export class SysError extends Error {
  constructor(readonly call: string, readonly errno: number) {
    const name = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    super(`${call}: ${name} (os error ${errno})`);
    this.name = "SysError";
  }

  get code(): string {
    return ERRNO_NAMES[this.errno] ?? `E${this.errno}`;
  }
}

/** A view of this thread's `errno` (its address never changes; FFI calls run on this thread). */
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * The errno of the call that just failed. Nothing may be allocated between that call and this
 * read: an allocation can start a garbage collection whose own system calls overwrite errno
 * (seen as a stray EAGAIN from openat under load). So the view is made once, ahead of any
 * failure, and reading it allocates nothing.
 */
export function errno(): number {
  return errnoView!.getInt32();
}

/** Runs a call that returns -1 with errno set; again on EINTR, else a SysError. */
export function retry<T extends number | bigint>(call: string, run: () => T): T {
  for (;;) {
    const r = run();
    if (Number(r) !== -1) return r;
    const e = errno();
    if (e !== 4) throw new SysError(call, e); // EINTR: run again
  }
}

/** Throws a SysError when a call returned -1 (retrying EINTR is the caller's loop). */
export function check<T extends number | bigint>(call: string, result: T): T {
  if (Number(result) === -1) throw new SysError(call, errno());
  return result;
}

const encoder = new TextEncoder();

/** A NUL-terminated C string; names with a NUL byte cannot exist on Linux. */
export function cString(text: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  if (bytes.includes(0)) throw new SysError("name", 22);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export type EntryType = "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";

export interface Stat {
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (mode & 0o7777). */
  perm: number;
  uid: number;
  gid: number;
  size: number;
  dev: bigint;
  ino: bigint;
  nlink: number;
  /** Last content change and last inode change (ns since the epoch); ctime cannot be set back. */
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** `st_mode & S_IFMT` → the entry type (anything unknown is treated as the least safe kind). */
export const TYPES: Record<number, EntryType> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "symlink",
  0o010000: "fifo",
  0o140000: "socket",
  0o020000: "char",
  0o060000: "block",
};

export const AARCH64 = Deno.build.arch === "aarch64";
export const STAT_SIZE = AARCH64 ? 128 : 144;

export function parseStat(buffer: Uint8Array): Stat {
  const v = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const mode = v.getUint32(AARCH64 ? 16 : 24, true);
  return {
    type: TYPES[mode & 0o170000] ?? "fifo",
    perm: mode & 0o7777,
    uid: v.getUint32(AARCH64 ? 24 : 28, true),
    gid: v.getUint32(AARCH64 ? 28 : 32, true),
    size: Number(v.getBigInt64(48, true)),
    dev: v.getBigUint64(0, true),
    ino: v.getBigUint64(8, true),
    nlink: AARCH64 ? v.getUint32(20, true) : Number(v.getBigUint64(16, true)),
    // st_mtim and st_ctim sit at the same offsets in both layouts
    mtimeNs: v.getBigInt64(88, true) * 1_000_000_000n + v.getBigInt64(96, true),
    ctimeNs: v.getBigInt64(104, true) * 1_000_000_000n + v.getBigInt64(112, true),
  };
}

/** `struct statfs` (glibc, x86_64 and aarch64): f_bsize at 8, f_bavail at 32; 120 bytes. */
export const STATFS_SIZE = 120;

/** Bytes an unprivileged writer may still use on the file system of `path` (bavail × bsize). */
export function availableBytes(path: string): number {
  const buf = new Uint8Array(STATFS_SIZE);
  retry("statfs", () => libc().statfs(cString(path), buf));
  const v = new DataView(buf.buffer);
  return Number(v.getBigUint64(32, true) * v.getBigUint64(8, true));
}

/** `struct dirent` (glibc, 64-bit): d_ino 0, d_off 8, d_reclen 16, d_type 18, d_name 19. */
export function direntName(entry: Deno.PointerObject): Uint8Array {
  const view = new Deno.UnsafePointerView(entry);
  const name = new Uint8Array(view.getUint16(16) - 19);
  view.copyInto(name, 19);
  const end = name.indexOf(0);
  return end < 0 ? name : name.subarray(0, end);
}
