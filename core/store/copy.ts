/**
 * Copies for staging: a verified bundle, read only as what was verified (a regular file of the
 * verified size, never through a link, re-hashed while copied), and app data trees, walked
 * without following a link at any depth. Staging lives in a 0700 directory, so nothing copied is
 * readable by others before its digest matched. Everything is made durable before returning.
 */
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { openDirAt } from "./anchored.ts";
import { READ_CHUNK } from "./bundle_reader.ts";
import { Durable, ioError, writeAll } from "./fs.ts";
import { type DirHandle, type FileHandle, isErrno, type Name, type Stat } from "./handles.ts";

export interface ExpectedFile {
  path: string;
  size: number;
  sha256: string;
}

/** Copies at most `limit` bytes from `input` to `output`, hashing them; reports if more follow. */
function copyBytes(
  input: FileHandle,
  output: FileHandle,
  limit: number,
  buffer: Uint8Array,
): { size: number; sha256: string; more: boolean } {
  const hash = createHash("sha256");
  let size = 0;
  while (size < limit) {
    const n = input.read(buffer.subarray(0, Math.min(buffer.length, limit - size)));
    if (n === 0) break;
    const chunk = buffer.subarray(0, n);
    hash.update(chunk);
    writeAll(output, chunk);
    size += n;
  }
  const more = size === limit && input.read(buffer.subarray(0, 1)) > 0;
  return { size, sha256: hash.digest("hex"), more };
}

function changed(path: string, why: string, details: Record<string, unknown> = {}): NxError {
  return new NxError(
    "integrity.changed_after_verify",
    `cannot stage ${path}: it changed after verification (${why})`,
    { details: { path, ...details }, hint: "verify and install the bundle again" },
  );
}

/** Opens the directories of a tree lazily, each one component at a time, never through a link. */
class DirCache {
  #open = new Map<string, DirHandle>();

  constructor(private readonly top: DirHandle, private readonly create?: number) {}

  get(rel: string, onUnsafe: (rel: string) => Error): DirHandle {
    if (rel === "") return this.top;
    const hit = this.#open.get(rel);
    if (hit) return hit;
    const cut = rel.lastIndexOf("/");
    const parent = this.get(cut < 0 ? "" : rel.slice(0, cut), onUnsafe);
    const name = rel.slice(cut + 1);
    if (this.create !== undefined) parent.mkdir(name, this.create);
    try {
      const dir = parent.openDir(name);
      this.#open.set(rel, dir);
      return dir;
    } catch (e) {
      if (isErrno(e, "ELOOP", "ENOTDIR")) throw onUnsafe(rel);
      throw e;
    }
  }

  close(): void {
    for (const dir of this.#open.values()) dir.close();
    this.top.close();
  }
}

const split = (path: string) => {
  const cut = path.lastIndexOf("/");
  return { dir: cut < 0 ? "" : path.slice(0, cut), name: path.slice(cut + 1) };
};

/** Copies exactly `files` from a verified bundle, read-only (0444), checking every digest. */
// deno-lint-ignore require-await -- async for callers; the copy is direct calls on purpose
export async function copyVerifiedBundle(
  srcDir: string,
  dstDir: string,
  files: readonly ExpectedFile[],
  onFile?: (done: number, total: number) => void,
): Promise<void> {
  const durable = new Durable();
  const buffer = new Uint8Array(READ_CHUNK);
  let src: DirCache | undefined;
  let dst: DirCache | undefined;
  try {
    src = new DirCache(openDirAt(srcDir));
    dst = new DirCache(openDirAt(dstDir, 0o755), 0o755);
    durable.dir(dstDir);
    for (const [i, f] of files.entries()) {
      const at = split(f.path);
      const from = src.get(at.dir, (rel) => changed(rel, "a directory became a link"));
      const to = dst.get(at.dir, (rel) => ioError("stage", rel, "not a directory"));
      if (at.dir !== "") durable.dir(`${dstDir}/${at.dir}`);
      let input: FileHandle;
      try {
        input = from.openFile(at.name);
      } catch (e) {
        if (isErrno(e, "ELOOP")) throw changed(f.path, "it is a link now");
        if (isErrno(e, "ENOENT")) throw changed(f.path, "it is gone");
        throw e;
      }
      try {
        const info = input.stat();
        // trust: only a regular file of exactly the verified size is read, and no more than that
        if (info.type !== "file") throw changed(f.path, `it is a ${info.type} now`);
        if (info.size !== f.size) {
          throw changed(f.path, "its size differs", { expected: f.size, actual: info.size });
        }
        const output = to.openFile(at.name, { write: true, create: 0o444, exclusive: true });
        const got = durable.fill(output, (out) => copyBytes(input, out, f.size, buffer));
        if (got.more || got.size !== f.size || got.sha256 !== f.sha256) {
          throw changed(f.path, "its content differs", {
            expected: f.sha256,
            actual: got.more ? "grew" : got.sha256,
          });
        }
      } finally {
        input.close();
      }
      onFile?.(i + 1, files.length);
    }
    durable.finish();
  } catch (e) {
    durable.abandon();
    throw ioError("stage", dstDir, e);
  } finally {
    src?.close();
    dst?.close();
  }
}

function unsafeData(path: string, why: string): NxError {
  return new NxError("data.unsafe_entry", `cannot copy app data ${path}: ${why}`, {
    details: { path },
    hint: "remove it from the app's data directory, then try again",
  });
}

/**
 * Copies an app data tree (owned by the app, so hostile): directories and regular files with
 * their permission bits (never wider; set-id bits dropped) and owners, links as links (never
 * followed), at most the size each file had when opened. Specials and hard links are refused.
 */
// deno-lint-ignore require-await -- async for callers; the copy is direct calls on purpose
export async function copyDataTree(src: string, dst: string): Promise<void> {
  const durable = new Durable();
  const buffer = new Uint8Array(READ_CHUNK);
  const asRoot = Deno.uid() === 0;
  const keepOwner = (target: { chown(u: number, g: number): void }, info: Stat) => {
    if (asRoot) target.chown(info.uid, info.gid);
  };
  const visit = (from: DirHandle, to: DirHandle, rel: string, self: Stat) => {
    to.chmod(self.perm & 0o777);
    keepOwner(to, self);
    durable.dir(rel === "" ? dst : `${dst}/${rel}`);
    for (const entry of from.entries()) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (!entry.utf8) throw unsafeData(path, "its name is not valid UTF-8");
      const info = from.stat(entry.raw);
      if (info === undefined) continue; // deleted meanwhile: it was never part of the copy
      if (info.type === "symlink") {
        const target = from.readLink(entry.raw);
        if (target !== undefined) to.symlink(target, entry.raw);
      } else if (info.type === "dir") {
        const sub = openChild(from, entry.raw, path, (d, n) => d.openDir(n));
        try {
          to.mkdir(entry.raw, 0o700);
          const made = to.openDir(entry.raw);
          try {
            visit(sub, made, path, sub.statSelf());
          } finally {
            made.close();
          }
        } finally {
          sub.close();
        }
      } else if (info.type === "file") {
        copyDataFile(from, to, entry.raw, path);
      } else {
        throw unsafeData(path, `it is a ${info.type}`);
      }
    }
  };
  const copyDataFile = (from: DirHandle, to: DirHandle, name: Name, path: string) => {
    const input = openChild(from, name, path, (d, n) => d.openFile(n));
    try {
      const info = input.stat();
      if (info.type !== "file") throw unsafeData(path, `it is a ${info.type}`);
      if (info.nlink !== 1) throw unsafeData(path, "it is a hard link");
      const output = to.openFile(name, { write: true, create: 0o600, exclusive: true });
      durable.fill(output, (out) => {
        out.chmod(info.perm & 0o777);
        keepOwner(out, info);
        copyBytes(input, out, info.size, buffer);
      });
    } finally {
      input.close();
    }
  };
  let from: DirHandle | undefined;
  let to: DirHandle | undefined;
  try {
    from = openDirAt(src);
    to = openDirAt(dst, 0o700);
    visit(from, to, "", from.statSelf());
    durable.finish();
  } catch (e) {
    durable.abandon();
    throw ioError("copy data", src, e);
  } finally {
    from?.close();
    to?.close();
  }
}

/** Opens a child found by a listing; a link or special swapped in meanwhile is refused. */
function openChild<T>(
  dir: DirHandle,
  name: Name,
  path: string,
  open: (dir: DirHandle, name: Name) => T,
): T {
  try {
    return open(dir, name);
  } catch (e) {
    if (isErrno(e, "ELOOP", "ENOTDIR")) throw unsafeData(path, "it was swapped while copying");
    throw e;
  }
}

/** Bytes of regular files below `dir` (0 when missing); links are not followed. */
// deno-lint-ignore require-await -- async for callers
export async function treeSize(dir: string): Promise<number> {
  const measure = (d: DirHandle): number => {
    let total = 0;
    for (const entry of d.entries()) {
      const info = d.stat(entry.raw);
      if (info?.type === "file") total += info.size;
      else if (info?.type === "dir") {
        const sub = d.openDir(entry.raw);
        try {
          total += measure(sub);
        } finally {
          sub.close();
        }
      }
    }
    return total;
  };
  try {
    const top = openDirAt(dir);
    try {
      return measure(top);
    } finally {
      top.close();
    }
  } catch (e) {
    if (isErrno(e, "ENOENT")) return 0;
    throw ioError("measure", dir, e);
  }
}
