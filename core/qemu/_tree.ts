/**
 * The repository files the guest gets, their digest (part of the image's cache key), and the
 * staging tree `mke2fs -d` turns into the system disk. The guest runs nx exactly as the tests
 * do: `bin/nx` with the pinned Deno from node_modules, which runs the prebuilt bundle while it
 * is fresh (its `find -newer build/stamp`), so the staged files keep their modification times.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";

/** What the guest needs of the repository (relative paths; a directory means all below it). */
export const REPO_PARTS = [
  "bin/nx",
  "build",
  "cli",
  "core",
  "fixtures",
  // bin/nx's freshness check reads .ci/build.ts and .ci/shims (the build's SOURCE_INPUTS).
  ".ci",
  "deno.json",
  "deno.lock",
  "package.json",
  "package-lock.json",
  "node_modules",
];

/** Never in the guest: tests, build tools and scratch, type packages, the musl build of libSQL. */
export function excluded(path: string): boolean {
  if (/^(cli|core|\.ci)\/.*_test\.ts$/.test(path)) return true;
  // The scratch directory of a bundle build running meanwhile (.ci/build.ts): not yet published.
  if (/^build\/\.next-/.test(path)) return true;
  return /^node_modules\/(\.bin|@esbuild|@types|undici-types|@libsql\/linux-x64-musl)(\/|$)/.test(
    path,
  );
}

export interface TreeEntry {
  /** Relative to the tree's root. */
  path: string;
  kind: "dir" | "file" | "symlink";
  /** Permission bits. */
  mode: number;
  /** Symlink target. */
  target?: string;
  /** A file's size, modification time and inode: what the digest cache keys on. */
  stamp?: string;
}

async function walk(
  root: string,
  rel: string,
  out: TreeEntry[],
  skip: (path: string) => boolean,
): Promise<void> {
  const info = await Deno.lstat(join(root, rel));
  const mode = (info.mode ?? 0o644) & 0o7777;
  if (info.isSymlink) {
    out.push({ path: rel, kind: "symlink", mode, target: await Deno.readLink(join(root, rel)) });
  } else if (info.isDirectory) {
    out.push({ path: rel, kind: "dir", mode });
    const names = [];
    for await (const e of Deno.readDir(join(root, rel))) names.push(e.name);
    for (const name of names.sort()) {
      const child = `${rel}/${name}`;
      if (!skip(child)) await walk(root, child, out, skip);
    }
  } else if (info.isFile) {
    const stamp = `${info.size}:${info.mtime?.getTime()}:${info.ino}:${info.ctime?.getTime()}`;
    out.push({ path: rel, kind: "file", mode, stamp });
  }
}

/** The entries of `parts` below `root`, parents first, sorted; missing parts are skipped. */
export async function listTree(
  root: string,
  parts: string[],
  skip: (path: string) => boolean = excluded,
): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const parents = new Set<string>();
  for (const part of parts) {
    try {
      await Deno.lstat(join(root, part));
    } catch {
      continue;
    }
    for (let d = dirname(part); d !== "."; d = dirname(d)) parents.add(d);
    await walk(root, part, out, skip);
  }
  for (const d of parents) out.push({ path: d, kind: "dir", mode: 0o755 });
  return out.sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/**
 * One digest of the entries' paths, kinds, modes, link targets and file contents. `cache` (a
 * JSON file) remembers each file's SHA256 by its size, mtime, ctime and inode, as git's index
 * does: an unchanged tree is not read again (~170 MB otherwise).
 */
export async function treeDigest(
  root: string,
  entries: TreeEntry[],
  cache?: string,
): Promise<string> {
  let known: Record<string, [string, string]> = {};
  if (cache) {
    try {
      known = JSON.parse(await Deno.readTextFile(cache)).files ?? {};
    } catch { /* none yet, or unreadable: hash everything */ }
  }
  const now: Record<string, [string, string]> = {};
  const hash = createHash("sha256");
  for (const e of entries) {
    hash.update(`${e.path}\0${e.kind}\0${e.mode.toString(8)}\0${e.target ?? ""}\0`);
    if (e.kind !== "file") continue;
    const hit = known[e.path];
    const sha = hit && hit[0] === e.stamp ? hit[1] : await fileSha256(join(root, e.path));
    now[e.path] = [e.stamp ?? "", sha];
    hash.update(`${sha}\0`);
  }
  if (cache) {
    await Deno.writeTextFile(
      `${cache}.${Deno.pid}.tmp`,
      JSON.stringify({ version: 1, files: now }),
    );
    await Deno.rename(`${cache}.${Deno.pid}.tmp`, cache);
  }
  return hash.digest("hex");
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  const buffer = new Uint8Array(1 << 20);
  using file = await Deno.open(path);
  for (let n; (n = await file.read(buffer)) !== null;) hash.update(buffer.subarray(0, n));
  return hash.digest("hex");
}

/**
 * Copies the entries below `from` to `to` (never hard links: see below), with the source's modes and modification times — directories' too, set last.
 */
export async function stageTree(from: string, to: string, entries: TreeEntry[]): Promise<void> {
  const dirs: TreeEntry[] = [];
  for (const e of entries) {
    const src = join(from, e.path);
    const dst = join(to, e.path);
    if (e.kind === "dir") {
      await Deno.mkdir(dst, { recursive: true, mode: 0o755 });
      dirs.push(e);
    } else if (e.kind === "symlink") {
      await Deno.symlink(e.target!, dst);
    } else {
      // Copies, never hard links: a link raises the repository file's link count, and nx refuses
      // a bundle whose files are hard-linked (bundle.hardlink) — the fixtures would stop verifying.
      await Deno.copyFile(src, dst);
      await Deno.chmod(dst, e.mode);
      const info = await Deno.stat(src);
      await Deno.utime(dst, info.atime ?? new Date(), info.mtime ?? new Date());
    }
  }
  for (const d of dirs.reverse()) {
    const info = await Deno.stat(join(from, d.path)).catch(() => undefined);
    await Deno.chmod(join(to, d.path), d.mode);
    if (info?.mtime) await Deno.utime(join(to, d.path), info.atime ?? info.mtime, info.mtime);
  }
}

/** The bytes the entries take on an ext4 of 4 KiB blocks, roughly (for the image's size). */
export async function treeBytes(root: string, entries: TreeEntry[]): Promise<number> {
  let total = 0;
  for (const e of entries) {
    const size = e.kind === "file" ? (await Deno.stat(join(root, e.path))).size : 0;
    total += Math.ceil(size / 4096) * 4096 + 256;
  }
  return total;
}
