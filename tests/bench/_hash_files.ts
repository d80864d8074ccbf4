/**
 * The hashing verify does, alone: every file streamed in 1 MiB reads through node:crypto SHA-256,
 * and one file (the payload) also through SHA-512, as core/store/bundle_reader.ts does. Imported
 * for in-process timing, or run as a script to time it as a whole `deno run` process:
 *
 *   deno run --allow-read _hash_files.ts <dir> <sha512-file or -> <file>...
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

const CHUNK = 1024 * 1024;

/** Hashes `files` (relative to `dir`); returns the number of bytes read. */
export async function hashFiles(dir: string, files: string[], sha512Of?: string): Promise<number> {
  const buffer = new Uint8Array(CHUNK);
  let total = 0;
  for (const path of files) {
    const sha256 = createHash("sha256");
    const sha512 = path === sha512Of ? createHash("sha512") : undefined;
    using file = await Deno.open(join(dir, path), { read: true });
    for (;;) {
      const n = await file.read(buffer);
      if (n === null) break;
      const chunk = buffer.subarray(0, n);
      sha256.update(chunk);
      sha512?.update(chunk);
      total += n;
    }
    sha256.digest("hex");
    sha512?.digest();
  }
  return total;
}

/** The same work with synchronous reads: what the hashing costs without async op round trips. */
export function hashFilesSync(dir: string, files: string[], sha512Of?: string): number {
  const buffer = new Uint8Array(CHUNK);
  let total = 0;
  for (const path of files) {
    const sha256 = createHash("sha256");
    const sha512 = path === sha512Of ? createHash("sha512") : undefined;
    using file = Deno.openSync(join(dir, path), { read: true });
    for (;;) {
      const n = file.readSync(buffer);
      if (n === null) break;
      const chunk = buffer.subarray(0, n);
      sha256.update(chunk);
      sha512?.update(chunk);
      total += n;
    }
    sha256.digest("hex");
    sha512?.digest();
  }
  return total;
}

if (import.meta.main) {
  const [dir, sha512Of, ...files] = Deno.args;
  await hashFiles(dir, files, sha512Of === "-" ? undefined : sha512Of);
}
