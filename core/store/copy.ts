/**
 * Copies for staging: a verified bundle re-hashed while copied (a bundle changed after
 * verification is caught here), and app data trees. Every file and directory is fsynced.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { READ_CHUNK } from "./bundle_reader.ts";
import { checkIoFault } from "./faults.ts";
import { ioError, syncAll } from "./fs.ts";

export interface ExpectedFile {
  path: string;
  size: number;
  sha256: string;
}

/** Copies one file with direct calls, hashing it on the way; no fsync (see syncAll). */
function copyFile(
  src: string,
  dst: string,
  mode: number,
  buffer: Uint8Array,
): { size: number; sha256: string } {
  const input = Deno.openSync(src, { read: true });
  try {
    const output = Deno.openSync(dst, { write: true, createNew: true, mode });
    try {
      const hash = createHash("sha256");
      let size = 0;
      for (;;) {
        const n = input.readSync(buffer);
        if (n === null) break;
        const chunk = buffer.subarray(0, n);
        hash.update(chunk);
        checkIoFault("write", dst);
        let written = 0;
        while (written < n) written += output.writeSync(chunk.subarray(written));
        size += n;
      }
      return { size, sha256: hash.digest("hex") };
    } finally {
      output.close();
    }
  } finally {
    input.close();
  }
}

function ensureDir(path: string, made: Set<string>): void {
  if (made.has(path)) return;
  Deno.mkdirSync(path, { recursive: true, mode: 0o755 });
  made.add(path);
}

/** Copies exactly `files` from a verified bundle, read-only (0444), checking every digest. */
export async function copyVerifiedBundle(
  srcDir: string,
  dstDir: string,
  files: readonly ExpectedFile[],
  onFile?: (done: number, total: number) => void,
): Promise<void> {
  const dirs = new Set<string>([dstDir]);
  const made = new Set<string>();
  const written: string[] = [];
  const buffer = new Uint8Array(READ_CHUNK);
  try {
    ensureDir(dstDir, made);
    for (const [i, f] of files.entries()) {
      const dst = join(dstDir, f.path);
      for (let d = dirname(dst); d.length > dstDir.length; d = dirname(d)) dirs.add(d);
      ensureDir(dirname(dst), made);
      const got = copyFile(join(srcDir, f.path), dst, 0o444, buffer);
      written.push(dst);
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
    await syncAll(written, dirs);
  } catch (e) {
    throw ioError("stage", dstDir, e);
  }
}

/** Recursively copies an app data tree (files, dirs, symlinks as links), then makes it durable. */
export async function copyDataTree(src: string, dst: string): Promise<void> {
  const written: string[] = [];
  const dirs = new Set<string>();
  const buffer = new Uint8Array(READ_CHUNK);
  const visit = (from: string, to: string) => {
    Deno.mkdirSync(to, { mode: 0o755 });
    dirs.add(to);
    for (const entry of Deno.readDirSync(from)) {
      const a = join(from, entry.name);
      const b = join(to, entry.name);
      if (entry.isSymlink) Deno.symlinkSync(Deno.readLinkSync(a), b);
      else if (entry.isDirectory) visit(a, b);
      else if (entry.isFile) {
        copyFile(a, b, Deno.lstatSync(a).mode! & 0o777, buffer);
        written.push(b);
      }
    }
  };
  try {
    visit(src, dst);
    await syncAll(written, dirs);
  } catch (e) {
    throw ioError("copy data", src, e);
  }
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
