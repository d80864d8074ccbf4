/**
 * Reads a bundle directory once into BundleFacts: a bounded walk that never follows links, then
 * small meta files into memory, then every other file streamed in 1 MiB reads through SHA-256
 * (and the payload through the signature's SHA-512 challenge). Memory stays flat in payload size.
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { BundleFacts, ChallengeRequest, EntryFact, FileFact } from "../bundle/mod.ts";
import { capFor, CAPS, isKeptInMemory, isSafeRelativePath } from "../bundle/mod.ts";
import { toHex } from "../bytes/mod.ts";
import { ioError } from "./fs.ts";

export const READ_CHUNK = 1024 * 1024;

export type ChallengePlanner = (
  small: ReadonlyMap<string, Uint8Array>,
) => ChallengeRequest | undefined;

function entryType(info: Deno.FileInfo): EntryFact["type"] {
  if (info.isSymlink) return "symlink";
  if (info.isDirectory) return "dir";
  if (info.isFile) return "file";
  return "other";
}

function rootTypeOf(path: string): BundleFacts["rootType"] {
  try {
    const info = Deno.statSync(path);
    return info.isDirectory ? "dir" : info.isFile ? "file" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw ioError("stat", path, e);
  }
}

/**
 * Breadth-first walk, bounded by CAPS.files entries and CAPS.depth levels. Synchronous calls:
 * a bundle is hundreds of small metadata calls, and each awaited one costs ~20× a direct one.
 */
function walk(root: string): { entries: EntryFact[]; limitHit: boolean } {
  const entries: EntryFact[] = [];
  let queue = [""];
  for (let depth = 1; queue.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of queue) {
      for (const item of Deno.readDirSync(join(root, dir))) {
        const path = dir === "" ? item.name : `${dir}/${item.name}`;
        if (entries.length >= CAPS.files || depth > CAPS.depth) return { entries, limitHit: true };
        const info = Deno.lstatSync(join(root, path));
        const entry = { path, type: entryType(info), size: info.size, nlink: info.nlink ?? 1 };
        entries.push(entry);
        if (entry.type === "dir") next.push(path);
      }
    }
    queue = next;
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, limitHit: false };
}

/** A file is read only when its structure is acceptable; verification rejects the rest. */
function readable(e: EntryFact): boolean {
  return e.type === "file" && e.nlink === 1 && isSafeRelativePath(e.path) &&
    e.size <= capFor(e.path);
}

interface StreamResult {
  fact: FileFact;
  sha512?: Uint8Array;
}

/** Streams one file; refuses it if it is not the file the walk saw (swapped or growing). */
function readOne(
  root: string,
  entry: EntryFact,
  buffer: Uint8Array,
  keep: boolean,
  challengePrefix?: Uint8Array,
): StreamResult {
  const full = join(root, entry.path);
  const before = Deno.lstatSync(full);
  const file = Deno.openSync(full, { read: true });
  try {
    const info = file.statSync();
    if (
      !info.isFile || info.ino !== before.ino || info.dev !== before.dev || info.size !== entry.size
    ) {
      throw new NxError("io.failed", `cannot read ${entry.path}: it changed while being read`);
    }
    const sha256 = createHash("sha256");
    const sha512: Hash | undefined = challengePrefix
      ? createHash("sha512").update(challengePrefix)
      : undefined;
    const kept = keep ? new Uint8Array(entry.size) : undefined;
    const head = new Uint8Array(Math.min(16, entry.size));
    let offset = 0;
    for (;;) {
      const n = file.readSync(buffer);
      if (n === null) break;
      if (offset + n > entry.size) {
        throw new NxError("io.failed", `cannot read ${entry.path}: it grew while being read`);
      }
      const chunk = buffer.subarray(0, n);
      sha256.update(chunk);
      sha512?.update(chunk);
      if (offset < head.length) head.set(chunk.subarray(0, head.length - offset), offset);
      kept?.set(chunk, offset);
      offset += n;
    }
    if (offset !== entry.size) {
      throw new NxError("io.failed", `cannot read ${entry.path}: it shrank`);
    }
    return {
      fact: { path: entry.path, size: entry.size, sha256: sha256.digest("hex"), head, bytes: kept },
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
): Promise<BundleFacts> {
  const rootType = rootTypeOf(path);
  const facts: BundleFacts = { rootType, entries: [], walkLimitHit: false, files: {} };
  if (rootType !== "dir") return facts;
  try {
    const { entries, limitHit } = walk(path);
    facts.entries = entries;
    facts.walkLimitHit = limitHit;
    // trust: the total cap is decided from lstat sizes, before a single byte is read
    const total = entries.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
    if (limitHit || total > CAPS.total) return facts;
    const candidates = entries.filter(readable);
    const buffer = new Uint8Array(READ_CHUNK);
    const small = new Map<string, Uint8Array>();
    for (const entry of candidates.filter((e) => isKeptInMemory(e.path))) {
      const { fact } = readOne(path, entry, buffer, true);
      facts.files[entry.path] = fact;
      small.set(entry.path, fact.bytes!);
    }
    const challenge = planChallenge(small);
    for (const entry of candidates.filter((e) => !isKeptInMemory(e.path))) {
      const prefix = challenge?.path === entry.path ? challenge.prefix : undefined;
      const { fact, sha512 } = readOne(path, entry, buffer, false, prefix);
      facts.files[entry.path] = fact;
      if (prefix && sha512) {
        facts.challenge = { path: entry.path, prefixHex: toHex(prefix), sha512 };
      }
    }
    return facts;
  } catch (e) {
    throw ioError("read bundle", path, e);
  }
}
