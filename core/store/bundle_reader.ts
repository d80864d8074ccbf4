/**
 * Reads a bundle directory once into BundleFacts: a bounded walk that never follows links, then
 * small meta files into memory, then every other file streamed in 1 MiB reads through SHA-256
 * (and the payload through the signature's SHA-512 challenge). Memory stays flat in payload size.
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { BundleFacts, ChallengeRequest, EntryFact, FileFact } from "../bundle/facts.ts";
import { capFor, CAPS, isKeptInMemory, isSafeRelativePath } from "../bundle/layout.ts";
import { toHex } from "../bytes/hex.ts";
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

async function rootTypeOf(path: string): Promise<BundleFacts["rootType"]> {
  try {
    const info = await Deno.stat(path);
    return info.isDirectory ? "dir" : info.isFile ? "file" : "other";
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "missing";
    throw ioError("stat", path, e);
  }
}

/** Breadth-first walk, bounded by CAPS.files entries and CAPS.depth levels. */
async function walk(root: string): Promise<{ entries: EntryFact[]; limitHit: boolean }> {
  const entries: EntryFact[] = [];
  let queue = [""];
  for (let depth = 1; queue.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of queue) {
      for await (const item of Deno.readDir(join(root, dir))) {
        const path = dir === "" ? item.name : `${dir}/${item.name}`;
        if (entries.length >= CAPS.files || depth > CAPS.depth) return { entries, limitHit: true };
        const info = await Deno.lstat(join(root, path));
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
async function readOne(
  root: string,
  entry: EntryFact,
  keep: boolean,
  challengePrefix?: Uint8Array,
): Promise<StreamResult> {
  const full = join(root, entry.path);
  const before = await Deno.lstat(full);
  const file = await Deno.open(full, { read: true });
  try {
    const info = await file.stat();
    if (
      !info.isFile || info.ino !== before.ino || info.dev !== before.dev || info.size !== entry.size
    ) {
      throw new NxError("io.failed", `cannot read ${entry.path}: it changed while being read`);
    }
    const sha256 = createHash("sha256");
    let sha512: Hash | undefined = challengePrefix
      ? createHash("sha512").update(challengePrefix)
      : undefined;
    const kept = keep ? new Uint8Array(entry.size) : undefined;
    const head = new Uint8Array(Math.min(16, entry.size));
    const buffer = new Uint8Array(Math.min(READ_CHUNK, Math.max(entry.size, 1)));
    let offset = 0;
    for (;;) {
      const n = await file.read(buffer);
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
    const digest = sha512 ? new Uint8Array(sha512.digest()) : undefined;
    sha512 = undefined;
    return {
      fact: { path: entry.path, size: entry.size, sha256: sha256.digest("hex"), head, bytes: kept },
      sha512: digest,
    };
  } finally {
    file.close();
  }
}

export async function readBundle(
  path: string,
  planChallenge: ChallengePlanner,
): Promise<BundleFacts> {
  const rootType = await rootTypeOf(path);
  const facts: BundleFacts = { rootType, entries: [], walkLimitHit: false, files: {} };
  if (rootType !== "dir") return facts;
  try {
    const { entries, limitHit } = await walk(path);
    facts.entries = entries;
    facts.walkLimitHit = limitHit;
    // trust: the total cap is decided from lstat sizes, before a single byte is read
    const total = entries.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
    if (limitHit || total > CAPS.total) return facts;
    const candidates = entries.filter(readable);
    const small = new Map<string, Uint8Array>();
    for (const entry of candidates.filter((e) => isKeptInMemory(e.path))) {
      const { fact } = await readOne(path, entry, true);
      facts.files[entry.path] = fact;
      small.set(entry.path, fact.bytes!);
    }
    const challenge = planChallenge(small);
    for (const entry of candidates.filter((e) => !isKeptInMemory(e.path))) {
      const prefix = challenge?.path === entry.path ? challenge.prefix : undefined;
      const { fact, sha512 } = await readOne(path, entry, false, prefix);
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
