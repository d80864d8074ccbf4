/**
 * The private copy of an app's payload that a launch executes: read from the root without
 * following a link at any depth, hashed while copied (1 MiB reads), compared with the digest the
 * registry recorded at install. Only the copy runs, so the root's file may change after the
 * check without changing what runs (no time-of-check/time-of-use gap on the root's file).
 */
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { ELF_PAYLOAD_FILE } from "../bundle/mod.ts";
import {
  DirHandle,
  type FileHandle,
  isErrno,
  openDirAt,
  READ_CHUNK,
  unsafeEntry,
} from "../store/mod.ts";

export interface ExpectedPayload {
  app: string;
  version: string;
  /** apps/<id>/versions/<version> */
  versionDir: string;
  size: number;
  sha256: string;
}

/** Bytes of the ELF header a launch inspects (e_ident, e_type, e_machine). */
export const ELF_HEADER_BYTES = 20;

function mismatch(p: ExpectedPayload, actual: Record<string, unknown>): NxError {
  return new NxError(
    "integrity.file_digest_mismatch",
    `cannot launch ${p.app}: ${ELF_PAYLOAD_FILE} of ${p.version} changed after it was installed`,
    {
      details: {
        app: p.app,
        version: p.version,
        path: `${p.versionDir}/${ELF_PAYLOAD_FILE}`,
        expected: { size: p.size, sha256: p.sha256 },
        actual,
      },
      hint: `run \`nx pkg doctor\`; \`nx pkg repair ${p.app}\` restores the installed files`,
    },
  );
}

function openPayload(p: ExpectedPayload): FileHandle {
  const path = `${p.versionDir}/${ELF_PAYLOAD_FILE}`;
  let dir: DirHandle | undefined;
  try {
    dir = openDirAt(p.versionDir);
    return dir.openFile(ELF_PAYLOAD_FILE);
  } catch (e) {
    if (e instanceof NxError) throw e;
    if (isErrno(e, "ENOENT")) {
      throw new NxError(
        "integrity.file_missing",
        `cannot launch ${p.app}: ${path} is missing`,
        {
          details: { app: p.app, version: p.version, path },
          hint: `run \`nx pkg doctor\`; \`nx pkg repair ${p.app}\` restores the installed files`,
        },
      );
    }
    if (isErrno(e, "ELOOP", "ENOTDIR")) throw unsafeEntry(path, e);
    throw new NxError("io.failed", `cannot launch ${p.app}: cannot open ${path}`, {
      details: { path },
      cause: e,
    });
  } finally {
    dir?.close();
  }
}

/**
 * Copies the payload into `dir/name` (created 0700, never existing before) and returns the
 * first {@link ELF_HEADER_BYTES} of the copied bytes. trust: the copy is refused unless the
 * root's file is a regular file of exactly the recorded size whose SHA-256 is the recorded one
 * (`integrity.file_digest_mismatch`); no more than size + 1 bytes are ever read.
 */
export function copyVerifiedPayload(p: ExpectedPayload, dir: string, name: string): Uint8Array {
  const input = openPayload(p);
  let output: FileHandle | undefined;
  try {
    const info = input.stat();
    if (info.type !== "file") throw unsafeEntry(`${p.versionDir}/${ELF_PAYLOAD_FILE}`);
    if (info.size !== p.size) throw mismatch(p, { size: info.size });
    const target = DirHandle.open(dir);
    try {
      output = target.openFile(name, { write: true, create: 0o700, exclusive: true });
    } finally {
      target.close();
    }
    output.chmod(0o700); // whatever the umask: owner read, write and execute only
    const hash = createHash("sha256");
    const buffer = new Uint8Array(READ_CHUNK);
    const header = new Uint8Array(ELF_HEADER_BYTES);
    let size = 0;
    while (size <= p.size) {
      const n = input.read(buffer.subarray(0, Math.min(buffer.length, p.size + 1 - size)));
      if (n === 0) break;
      const chunk = buffer.subarray(0, n);
      if (size < ELF_HEADER_BYTES) header.set(chunk.subarray(0, ELF_HEADER_BYTES - size), size);
      hash.update(chunk);
      output.writeAll(chunk);
      size += n;
    }
    const sha256 = hash.digest("hex");
    if (size !== p.size || sha256 !== p.sha256) {
      throw mismatch(p, size > p.size ? { size: "grew while read" } : { size, sha256 });
    }
    return header.subarray(0, Math.min(size, ELF_HEADER_BYTES));
  } catch (e) {
    if (e instanceof NxError) throw e;
    throw new NxError("io.failed", `cannot launch ${p.app}: cannot copy its payload`, {
      details: { app: p.app, version: p.version, dir },
      cause: e,
    });
  } finally {
    input.close();
    // Closed before anything executes it: a file open for writing cannot be run (ETXTBSY).
    output?.close();
  }
}
