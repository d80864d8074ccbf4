/**
 * The host's half of an upload (docs/protocol.md#uploads): describe a bundle directory as the
 * offer's file list, then stream the files the agent asked for as DATA frames.
 *
 * describeBundle reads the bundle exactly as a local verify does — core/store's one-pass reader
 * (a bounded walk below the bundle's descriptor that never follows a link, every file streamed
 * through SHA-256) and core/trust's structural rules — so a bundle holding a link, a special
 * file, too many files, or none at all fails here with the code a local verify gives, before a
 * byte is sent. The agent verifies everything again against its own policy: nothing here is a
 * trust decision, only "send what was described, or nothing".
 *
 * describeOnce is describeBundle for a process that sends one bundle many times (a fleet, a
 * long-lived host): a description is reused while a walk of the bundle finds every entry as it
 * was (see treeStamp). A change the walk cannot see (a rewrite within one clock tick that keeps
 * the size) is still caught: sendFiles re-hashes every byte it sends.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { CAPS } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import {
  DirCache,
  type DirHandle,
  type FileHandle,
  ioError,
  isErrno,
  openDirAt,
  readBundle,
  splitPath,
} from "../store/mod.ts";
import { checkStructure } from "../trust/mod.ts";

/** One file of an offer: its bundle-relative path, size and SHA-256 (hex). */
export interface OfferedFile {
  path: string;
  size: number;
  sha256: string;
}

/** The bundle's regular files, sorted by path, as a local verify reads and hashes them. */
export async function describeBundle(bundlePath: string): Promise<OfferedFile[]> {
  const facts = await readBundle(bundlePath, () => undefined);
  checkStructure(facts, bundlePath);
  return facts.entries.filter((e) => e.type === "file").map((e) => {
    const fact = facts.files[e.path];
    // checkStructure passed, so the reader read every file; anything else is a reader bug
    if (!fact) throw new Error(`the bundle reader skipped ${e.path}`);
    return { path: fact.path, size: fact.size, sha256: fact.sha256 };
  });
}

/** Descriptions by bundle path, with the stamp of the tree they were made from (oldest first). */
const described = new Map<string, { stamp: string; files: Promise<OfferedFile[]> }>();
const DESCRIBED_MAX = 8;

/**
 * describeBundle, reused while the bundle's tree stamp is unchanged; concurrent calls for one
 * bundle (a fleet's first uploads) share one description. A failed description is not kept.
 * The list is shared: callers must not change it.
 */
export function describeOnce(bundlePath: string): Promise<OfferedFile[]> {
  const key = resolve(bundlePath);
  const stamp = treeStamp(key);
  if (stamp === undefined) return describeBundle(bundlePath);
  const hit = described.get(key);
  if (hit?.stamp === stamp) return hit.files;
  const files = describeBundle(bundlePath);
  described.delete(key);
  described.set(key, { stamp, files });
  if (described.size > DESCRIBED_MAX) described.delete(described.keys().next().value!);
  files.catch(() => {
    if (described.get(key)?.files === files) described.delete(key);
  });
  return files;
}

/**
 * The identity of every entry of a bundle tree — device, inode, type, size, link count, mtime
 * and ctime, directories included (an entry added, removed or renamed changes its directory's) —
 * walked below descriptors without following a link; undefined when the tree cannot be walked
 * within the bundle caps (describeBundle then judges it, uncached).
 */
export function treeStamp(bundlePath: string): string | undefined {
  const parts: string[] = [];
  const visit = (dir: DirHandle, rel: string, depth: number): boolean => {
    const self = dir.statSelf();
    parts.push(`${rel}/\0${self.dev}:${self.ino}:${self.mtimeNs}:${self.ctimeNs}`);
    for (const entry of dir.entries().sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (parts.length > CAPS.files * 2 || depth > CAPS.depth) return false;
      const info = dir.stat(entry.raw);
      if (info === undefined) return false;
      const path = `${rel}/${entry.name}`;
      if (info.type === "dir") {
        const sub = dir.openDir(entry.raw);
        try {
          if (!visit(sub, path, depth + 1)) return false;
        } finally {
          sub.close();
        }
      } else {
        parts.push(
          `${path}\0${info.type}:${info.dev}:${info.ino}:${info.size}:${info.nlink}:` +
            `${info.mtimeNs}:${info.ctimeNs}`,
        );
      }
    }
    return true;
  };
  try {
    const top = openDirAt(bundlePath);
    try {
      return visit(top, "", 1) ? parts.join("\n") : undefined;
    } finally {
      top.close();
    }
  } catch {
    return undefined;
  }
}

/** Where DATA frames go (a Channel). */
export interface DataSink {
  /** Done with `bytes` once the promise settles: the caller then reuses the buffer. */
  sendData(bytes: Uint8Array): Promise<void>;
}

/** A DATA frame's body: well under MAX_BODY, large enough that framing costs nothing. */
export const UPLOAD_CHUNK = 256 * 1024;

function changed(path: string, why: string, details: Record<string, unknown> = {}): NxError {
  return new NxError(
    "integrity.changed_after_verify",
    `cannot upload ${path}: it changed after it was described (${why})`,
    {
      details: { path, ...details },
      hint: "leave the bundle alone while it uploads, then run the command again",
    },
  );
}

/** Checks the agent's `need` list: ascending, distinct indices into the offer. */
export function checkNeeded(needed: readonly number[], offered: number): void {
  let last = -1;
  for (const i of needed) {
    if (!Number.isInteger(i) || i <= last || i >= offered) {
      throw new NxError(
        "transport.bad_frame",
        `cannot upload: the agent asked for file ${i}, not an ascending index of the ${offered} offered`,
        { details: { needed: [...needed], offered } },
      );
    }
    last = i;
  }
}

/** The bundle's directories, opened once each below its descriptor, never through a link. */
class BundleDirs {
  #dirs: DirCache | undefined;

  constructor(readonly bundlePath: string) {}

  /**
   * Opens a described file for reading, refusing anything but a regular file of the described
   * size: every directory on the way is opened without following a link (a link or a
   * non-directory there fails), and so is the file (O_NOFOLLOW | O_NONBLOCK: a link, FIFO or
   * device swapped in is seen for what it is, never followed, blocked on or read).
   */
  open(file: OfferedFile): FileHandle {
    const at = splitPath(file.path);
    let handle: FileHandle;
    try {
      this.#dirs ??= new DirCache(openDirAt(this.bundlePath));
      const dir = this.#dirs.get(
        at.dir,
        () => changed(file.path, "a directory on its path is gone or a link"),
      );
      handle = dir.openFile(at.name);
    } catch (e) {
      if (e instanceof NxError) throw e;
      if (isErrno(e, "ENOENT", "ELOOP", "ENOTDIR", "ENXIO")) {
        throw changed(file.path, "it is gone or no longer a regular file");
      }
      throw ioError("read", `${this.bundlePath}/${file.path}`, e);
    }
    const now = handle.stat();
    if (now.type !== "file") {
      handle.close();
      throw changed(file.path, "it is gone or no longer a regular file");
    }
    if (now.size !== file.size) {
      handle.close();
      throw changed(file.path, "its size differs", { expected: file.size, actual: now.size });
    }
    return handle;
  }

  close(): void {
    this.#dirs?.close();
  }
}

/**
 * Sends the `needed` files (indices into `files`, in that order) as one byte run cut into DATA
 * frames of UPLOAD_CHUNK bytes; each file contributes exactly its described size. Every file is
 * re-hashed while read: a file that grew, shrank or changed since describeBundle is
 * `integrity.changed_after_verify` (the code a local install gives for a bundle that changed
 * between its verification and its staging), and a frame is handed to the sink only once it is
 * full and more bytes follow, so the last frame of a changed file never leaves. The stream is
 * then mid-upload: the caller must close the connection (the agent drops an upload its
 * connection lost). Reads are synchronous (descriptor-relative, see BundleDirs): a bundle is
 * hundreds of small files, and an awaited call per open, stat, read and close cost ~4× the
 * hashing.
 */
export async function sendFiles(
  sink: DataSink,
  bundlePath: string,
  files: readonly OfferedFile[],
  needed: readonly number[],
  onProgress?: (done: number, total: number) => void,
): Promise<void> {
  checkNeeded(needed, files.length);
  const total = needed.reduce((n, i) => n + files[i].size, 0);
  let sent = 0;
  // One buffer for every frame (sendData is done with it once it settles): fresh memory costs
  // more than the copy (see frame.ts REUSE_MIN).
  const buffer = new Uint8Array(Math.min(UPLOAD_CHUNK, total));
  let frame = buffer;
  let fill = 0;
  const flush = async () => {
    await sink.sendData(frame.subarray(0, fill));
    sent += fill;
    onProgress?.(sent, total);
    frame = buffer.subarray(0, Math.min(UPLOAD_CHUNK, total - sent));
    fill = 0;
  };
  const dirs = new BundleDirs(bundlePath);
  const probe = new Uint8Array(1);
  try {
    for (const index of needed) {
      const file = files[index];
      const handle = dirs.open(file);
      try {
        const hash = createHash("sha256");
        for (let read = 0; read < file.size;) {
          if (fill === frame.length) await flush();
          const room = frame.subarray(fill, fill + Math.min(frame.length - fill, file.size - read));
          const n = readSome(handle, room);
          if (n === 0) {
            throw changed(file.path, "it shrank", { expected: file.size, actual: read });
          }
          hash.update(room.subarray(0, n));
          fill += n;
          read += n;
        }
        if (readSome(handle, probe) !== 0) throw changed(file.path, "it grew");
        if (hash.digest("hex") !== file.sha256) throw changed(file.path, "its SHA-256 differs");
      } finally {
        handle.close();
      }
    }
  } finally {
    dirs.close();
  }
  if (fill > 0) await flush();
}

function readSome(handle: FileHandle, into: Uint8Array): number {
  try {
    return handle.read(into);
  } catch (e) {
    throw ioError("read", handle.path, e);
  }
}
