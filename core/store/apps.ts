/** Paths of one app below the root, the `current` link, and tree facts planning needs. */
import { dirname, join } from "node:path";
import { statfs } from "node:fs/promises";
import { exists, fsyncDir, ioError } from "./fs.ts";
import type { RootPaths } from "./root.ts";

export interface AppPaths {
  dir: string;
  versions: string;
  current: string;
  data: string;
  version(v: string): string;
  dataOf(v: string): string;
}

export function appPaths(paths: RootPaths, appId: string): AppPaths {
  const dir = join(paths.apps, appId);
  return {
    dir,
    versions: join(dir, "versions"),
    current: join(dir, "current"),
    data: join(dir, "data"),
    version: (v) => join(dir, "versions", v),
    dataOf: (v) => join(dir, "data", v),
  };
}

/** Staging area of one transaction: same file system as apps/, so renames are atomic. */
export function stagingPaths(paths: RootPaths, txid: string) {
  const dir = join(paths.staging, txid);
  return {
    dir,
    version: join(dir, "version"),
    data: join(dir, "data"),
    retiredVersion: join(dir, "retired-version"),
    retiredData: join(dir, "retired-data"),
    detached: join(dir, "app"),
    detachedVersions: join(dir, "versions"),
    detachedCurrent: join(dir, "current"),
  };
}

/**
 * Atomically points `link` at `target` (relative): temp link + rename + fsync of the parent.
 * The temp name is derived from `tag` so an undo after a crash can find and remove it.
 */
export async function replaceSymlink(link: string, target: string, tag: string): Promise<void> {
  const tmp = tempLinkName(link, tag);
  try {
    await Deno.remove(tmp).catch(() => {});
    await Deno.symlink(target, tmp);
    await Deno.rename(tmp, link);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw ioError("switch", link, e);
  }
  await fsyncDir(dirname(link));
}

export function tempLinkName(link: string, tag: string): string {
  return `${link}.${tag}.tmp`;
}

export async function readCurrent(app: AppPaths): Promise<string | undefined> {
  try {
    return await Deno.readLink(app.current);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.InvalidData) return undefined;
    throw ioError("read link", app.current, e);
  }
}

/** Renames `from` to `to` when `from` exists and `to` does not (idempotent move for undo). */
export async function moveIfPresent(from: string, to: string): Promise<void> {
  if (!(await exists(from)) || (await exists(to))) return;
  try {
    await Deno.rename(from, to);
  } catch (e) {
    throw ioError("move", from, e);
  }
  await fsyncDir(dirname(from));
  if (dirname(to) !== dirname(from)) await fsyncDir(dirname(to));
}

export async function freeBytes(path: string): Promise<number> {
  try {
    const s = await statfs(path);
    return s.bavail * s.bsize;
  } catch (e) {
    throw ioError("statfs", path, e);
  }
}

export async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(path)) names.push(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw ioError("list", path, e);
  }
  return names.sort();
}
