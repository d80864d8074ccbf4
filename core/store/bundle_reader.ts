/**
 * Reads a bundle directory once into BundleFacts: a bounded walk that never follows links, then
 * small meta files into memory, then every other file streamed in 1 MiB reads through SHA-256
 * (and the payload through the signature's SHA-512 challenge). Memory stays flat in payload size.
 * A file of a tree lent by the process that wrote it (an agent's upload) whose digest that writer
 * computed is not hashed again (StageSink.writtenDigest).
 * With a {@link StageSink} (an install), each chunk read is also written to the staging copy: the
 * bytes hashed are the bytes staged, so the bundle is read exactly once (copy.ts BundleStage).
 */
import { createHash, type Hash } from "node:crypto";
import { NxError } from "../errors.ts";
import type { BundleFacts, ChallengeRequest, EntryFact, FileFact } from "../bundle/mod.ts";
import { capFor, CAPS, isKeptInMemory, isSafeRelativePath } from "../bundle/mod.ts";
import { toHex } from "../bytes/mod.ts";
import { openDirAt } from "./anchored.ts";
import { ioError } from "./fs.ts";
import { type DirHandle, type EntryType, type FileHandle, isErrno, type Stat } from "./handles.ts";

export const READ_CHUNK = 1024 * 1024;

/**
 * Receives every file the reader reads, chunk by chunk, in read order: `begin` before its first
 * byte, `end` with the size and digest of exactly the bytes it was given.
 */
export interface StageSink {
  /**
   * The SHA-256 of the file at `path`, open for reading as `now` (its fstat), when the sink knows
   * it for certain without the read (a tree it lent, still as written); the reader then reads only
   * the bytes something else needs (the head, kept meta files, the challenge's payload).
   */
  writtenDigest(path: string, now: Stat): string | undefined;
  begin(path: string): void;
  write(chunk: Uint8Array): void;
  /** `source`: the bundle file's fstat once every byte was read. */
  end(fact: { path: string; size: number; sha256: string }, source: Stat): void;
}

export type ChallengePlanner = (
  small: ReadonlyMap<string, Uint8Array>,
) => ChallengeRequest | undefined;

function rootTypeOf(path: string): BundleFacts["rootType"] {
  try {
    const info = Deno.statSync(path);
    return info.isDirectory ? "dir" : info.isFile ? "file" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw ioError("stat", path, e);
  }
}

const typeOf = (t: EntryType): EntryFact["type"] =>
  t === "file" || t === "dir" || t === "symlink" ? t : "other";

/**
 * Breadth-first walk, bounded by CAPS.files entries and CAPS.depth levels, every directory opened
 * below its parent's descriptor without following a link (a name that is not valid UTF-8 is kept,
 * lossily decoded, so validation refuses it as an unsafe path). Synchronous calls: a bundle is
 * hundreds of small metadata calls, and each awaited one costs ~20× a direct one.
 */
function walk(top: DirHandle): { entries: EntryFact[]; limitHit: boolean; dirs: DirCache } {
  const entries: EntryFact[] = [];
  const dirs: DirCache = new Map([["", top]]);
  try {
    return walkFrom(dirs, entries);
  } catch (e) {
    for (const dir of dirs.values()) dir.close();
    throw e;
  }
}

function walkFrom(
  dirs: DirCache,
  entries: EntryFact[],
): { entries: EntryFact[]; limitHit: boolean; dirs: DirCache } {
  let queue = [""];
  for (let depth = 1; queue.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of queue) {
      const handle = dirs.get(dir)!;
      for (const item of handle.entries()) {
        const path = dir === "" ? item.name : `${dir}/${item.name}`;
        if (entries.length >= CAPS.files || depth > CAPS.depth) {
          return { entries, limitHit: true, dirs };
        }
        const info = handle.stat(item.raw);
        if (info === undefined) continue;
        const entry = { path, type: typeOf(info.type), size: info.size, nlink: info.nlink };
        entries.push(entry);
        if (entry.type === "dir" && item.utf8) {
          dirs.set(path, handle.openDir(item.raw));
          next.push(path);
        }
      }
    }
    queue = next;
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, limitHit: false, dirs };
}

/** Open directory handles of a walk, by bundle-relative path ("" is the bundle). */
type DirCache = Map<string, DirHandle>;

/** A file is read only when its structure is acceptable; verification rejects the rest. */
function readable(e: EntryFact): boolean {
  return e.type === "file" && e.nlink === 1 && isSafeRelativePath(e.path) &&
    e.size <= capFor(e.path);
}

interface StreamResult {
  fact: FileFact;
  sha512?: Uint8Array;
}

function changedWhileRead(path: string, how: string): NxError {
  return new NxError("io.failed", `cannot read ${path}: it ${how} while being read`, {
    details: { path },
  });
}

/**
 * Streams one file, opened below its directory's descriptor without following a link or blocking
 * on a FIFO; refuses it if it is not the regular file of the size the walk saw (swapped,
 * growing or shrinking).
 */
function readOne(
  dirs: DirCache,
  entry: EntryFact,
  buffer: Uint8Array,
  keep: boolean,
  stage: StageSink | undefined,
  challengePrefix?: Uint8Array,
): StreamResult {
  const cut = entry.path.lastIndexOf("/");
  const dir = dirs.get(cut < 0 ? "" : entry.path.slice(0, cut));
  if (!dir) throw changedWhileRead(entry.path, "changed");
  let file: FileHandle;
  try {
    file = dir.openFile(entry.path.slice(cut + 1));
  } catch (e) {
    if (isErrno(e, "ELOOP", "ENOENT")) throw changedWhileRead(entry.path, "changed");
    throw e;
  }
  try {
    const info = file.stat();
    if (info.type !== "file" || info.size !== entry.size) {
      throw changedWhileRead(entry.path, "changed");
    }
    const known = stage?.writtenDigest(entry.path, info);
    const sha256 = known === undefined ? createHash("sha256") : undefined;
    const sha512: Hash | undefined = challengePrefix
      ? createHash("sha512").update(challengePrefix)
      : undefined;
    const kept = keep ? new Uint8Array(entry.size) : undefined;
    const head = new Uint8Array(Math.min(16, entry.size));
    stage?.begin(entry.path);
    // A file whose digest is known is read only as far as something else needs its bytes.
    const whole = sha256 !== undefined || sha512 !== undefined || kept !== undefined;
    const end = whole ? entry.size : head.length;
    let offset = 0;
    for (;;) {
      const n = file.read(whole ? buffer : buffer.subarray(0, end - offset));
      if (n === 0) break;
      if (offset + n > entry.size) throw changedWhileRead(entry.path, "grew");
      const chunk = buffer.subarray(0, n);
      sha256?.update(chunk);
      sha512?.update(chunk);
      stage?.write(chunk);
      if (offset < head.length) head.set(chunk.subarray(0, head.length - offset), offset);
      kept?.set(chunk, offset);
      offset += n;
      if (!whole && offset === end) break;
    }
    if (offset !== end) throw changedWhileRead(entry.path, "shrank");
    const fact = { path: entry.path, size: entry.size, sha256: known ?? sha256!.digest("hex") };
    if (stage) stage.end(fact, file.stat());
    return {
      fact: { ...fact, head, bytes: kept },
      sha512: sha512 ? new Uint8Array(sha512.digest()) : undefined,
    };
  } finally {
    file.close();
  }
}

// deno-lint-ignore require-await -- async for callers; the work is synchronous on purpose (walk)
export async function readBundle(
  path: string,
  planChallenge: ChallengePlanner,
  stage?: StageSink,
): Promise<BundleFacts> {
  const rootType = rootTypeOf(path);
  const facts: BundleFacts = { rootType, entries: [], walkLimitHit: false, files: {} };
  if (rootType !== "dir") return facts;
  let dirs: DirCache | undefined;
  try {
    const walked = walk(openDirAt(path));
    dirs = walked.dirs;
    const { entries, limitHit } = walked;
    facts.entries = entries;
    facts.walkLimitHit = limitHit;
    // trust: the total cap is decided from lstat sizes, before a single byte is read
    const total = entries.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
    if (limitHit || total > CAPS.total) return facts;
    const candidates = entries.filter(readable);
    const buffer = new Uint8Array(READ_CHUNK);
    const small = new Map<string, Uint8Array>();
    for (const entry of candidates.filter((e) => isKeptInMemory(e.path))) {
      const { fact } = readOne(dirs, entry, buffer, true, stage);
      facts.files[entry.path] = fact;
      small.set(entry.path, fact.bytes!);
    }
    const challenge = planChallenge(small);
    for (const entry of candidates.filter((e) => !isKeptInMemory(e.path))) {
      const prefix = challenge?.path === entry.path ? challenge.prefix : undefined;
      const { fact, sha512 } = readOne(dirs, entry, buffer, false, stage, prefix);
      facts.files[entry.path] = fact;
      if (prefix && sha512) {
        facts.challenge = { path: entry.path, prefixHex: toHex(prefix), sha512 };
      }
    }
    return facts;
  } catch (e) {
    throw ioError("read bundle", path, e);
  } finally {
    for (const dir of dirs?.values() ?? []) dir.close();
  }
}
