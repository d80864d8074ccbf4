/**
 * Copies for staging: a verified bundle re-hashed while copied (a bundle changed after
 * verification is caught here), and app data trees. Every file and directory is fsynced.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { READ_CHUNK } from "./bundle_reader.ts";
import { checkIoFault } from "./faults.ts";
import { fsyncDir, ioError, mkdirp } from "./fs.ts";

export interface ExpectedFile {
  path: string;
  size: number;
  sha256: string;
}

async function copyFile(
  src: string,
  dst: string,
  mode: number,
): Promise<{ size: number; sha256: string }> {
  const input = await Deno.open(src, { read: true });
  const output = await Deno.open(dst, { write: true, createNew: true, mode });
  try {
    const hash = createHash("sha256");
    const buffer = new Uint8Array(READ_CHUNK);
    let size = 0;
    for (;;) {
      const n = await input.read(buffer);
      if (n === null) break;
      const chunk = buffer.subarray(0, n);
      hash.update(chunk);
      checkIoFault("write", dst);
      let written = 0;
      while (written < n) written += await output.write(chunk.subarray(written));
      size += n;
    }
    checkIoFault("fsync", dst);
    await output.sync();
    return { size, sha256: hash.digest("hex") };
  } finally {
    input.close();
    output.close();
  }
}

/** Copies exactly `files` from a verified bundle, read-only (0444), checking every digest. */
export async function copyVerifiedBundle(
  srcDir: string,
  dstDir: string,
  files: readonly ExpectedFile[],
  onFile?: (done: number, total: number) => void,
): Promise<void> {
  const dirs = new Set<string>([dstDir]);
  try {
    await mkdirp(dstDir);
    for (const [i, f] of files.entries()) {
      const dst = join(dstDir, f.path);
      for (let d = dirname(dst); d.length > dstDir.length; d = dirname(d)) dirs.add(d);
      await mkdirp(dirname(dst));
      const got = await copyFile(join(srcDir, f.path), dst, 0o444);
      if (got.size !== f.size || got.sha256 !== f.sha256) {
        throw new NxError(
          "integrity.file_digest_mismatch",
          `cannot stage ${f.path}: it changed after verification`,
          {
            details: { path: f.path, expected: f.sha256, actual: got.sha256 },
          },
        );
      }
      onFile?.(i + 1, files.length);
    }
  } catch (e) {
    throw ioError("stage", dstDir, e);
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(d);
}

/** Recursively copies an app data tree (files, dirs, symlinks as links), fsyncing everything. */
export async function copyDataTree(src: string, dst: string): Promise<void> {
  try {
    await Deno.mkdir(dst, { mode: 0o755 });
    for await (const entry of Deno.readDir(src)) {
      const from = join(src, entry.name);
      const to = join(dst, entry.name);
      if (entry.isSymlink) await Deno.symlink(await Deno.readLink(from), to);
      else if (entry.isDirectory) await copyDataTree(from, to);
      else if (entry.isFile) await copyFile(from, to, (await Deno.lstat(from)).mode! & 0o777);
    }
  } catch (e) {
    throw ioError("copy data", src, e);
  }
  await fsyncDir(dst);
}

/** Bytes of regular files below `dir` (0 when missing); links are not followed. */
export async function treeSize(dir: string): Promise<number> {
  let total = 0;
  try {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) total += await treeSize(path);
      else if (entry.isFile) total += (await Deno.lstat(path)).size;
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError("measure", dir, e);
  }
  return total;
}
