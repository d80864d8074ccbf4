/**
 * Copies for staging: a verified bundle, read only as what was verified (a regular file of the
 * verified size, never through a link, re-hashed while copied) unless the verifying read staged
 * it already (stage.ts: then adopted, not read again), and app data trees, walked without
 * following a link at any depth. Staging lives in a 0700 directory, so nothing copied is
 * readable by others before its digest matched. Everything is made durable before returning.
 */
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { openDirAt } from "./anchored.ts";
import { READ_CHUNK } from "./bundle_reader.ts";
import { DirCache, splitPath } from "./_dir_cache.ts";
import { stageAt, type StagedSource } from "./stage.ts";
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

/**
 * Copies exactly `files` from a verified bundle, read-only (0444), checking every digest. When
 * the verifying read already staged exactly these files from `srcDir` into `dstDir`
 * (stage.ts), that copy is adopted instead: made durable, never read again.
 */
export async function copyVerifiedBundle(
  srcDir: string,
  dstDir: string,
  files: readonly ExpectedFile[],
  onFile?: (done: number, total: number) => void,
): Promise<void> {
  const stage = stageAt(dstDir);
  if (stage !== undefined) {
    if (stage.holds(srcDir, files)) {
      try {
        checkUnchanged(srcDir, stage.sources());
      } catch (e) {
        await stage.release();
        throw ioError("stage", dstDir, e);
      }
      await stage.adopt();
      onFile?.(files.length, files.length);
      return;
    }
    await stage.release(); // staged something else: copied afresh below
  }
  copyAfresh(srcDir, dstDir, files, onFile);
}

/**
 * trust: a bundle changed after its verifying read is refused, even though the stage holds the
 * bytes that were verified: every file, looked up without following a link at any depth, must
 * still be the file that was read — same device and inode, size, mtime and ctime (a write, a
 * chmod or a replacement changes one of them; ctime cannot be set back).
 */
function checkUnchanged(srcDir: string, sources: readonly StagedSource[]): void {
  const src = new DirCache(openDirAt(srcDir));
  try {
    for (const { path, stat } of sources) {
      const at = splitPath(path);
      const dir = src.get(at.dir, (rel) => changed(rel, "a directory became a link"));
      const now = dir.stat(at.name);
      if (now === undefined) throw changed(path, "it is gone");
      if (now.type !== "file") throw changed(path, `it is a ${now.type} now`);
      if (now.size !== stat.size) {
        throw changed(path, "its size differs", { expected: stat.size, actual: now.size });
      }
      if (now.dev !== stat.dev || now.ino !== stat.ino) throw changed(path, "it was replaced");
      if (now.mtimeNs !== stat.mtimeNs || now.ctimeNs !== stat.ctimeNs) {
        throw changed(path, "it was written to");
      }
    }
  } finally {
    src.close();
  }
}

function copyAfresh(
  srcDir: string,
  dstDir: string,
  files: readonly ExpectedFile[],
  onFile?: (done: number, total: number) => void,
): void {
  const durable = new Durable();
  const buffer = new Uint8Array(READ_CHUNK);
  let src: DirCache | undefined;
  let dst: DirCache | undefined;
  try {
    src = new DirCache(openDirAt(srcDir));
    dst = new DirCache(openDirAt(dstDir, 0o755), 0o755);
    durable.dir(dstDir);
    for (const [i, f] of files.entries()) {
      const at = splitPath(f.path);
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
