/** Paths of one app below the root, the `current` link, and tree facts planning needs. */
import { basename, dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { availableBytes } from "./_libc.ts";
import { atParent, openDirAt } from "./anchored.ts";
import { checkIoFault } from "./faults.ts";
import { exists, fsyncDir, io, rename } from "./fs.ts";
import { isErrno } from "./handles.ts";
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
    detachedData: join(dir, "cleared-data"),
  };
}

/**
 * Atomically points `link` at `target` (relative): temp link + rename + fsync of the parent.
 * The temp name is derived from `tag` so an undo after a crash can find and remove it.
 */
export function replaceSymlink(link: string, target: string, tag: string): Promise<void> {
  const tmp = basename(tempLinkName(link, tag));
  return io("switch", link, () =>
    atParent(link, (dir, name) => {
      try {
        dir.removeTree(tmp);
        dir.symlink(target, tmp);
        dir.rename(tmp, dir, name);
      } catch (e) {
        try {
          dir.unlink(tmp);
        } catch { /* never made */ }
        throw e;
      }
      checkIoFault("fsync", dirname(link));
      dir.sync();
    }));
}

export function tempLinkName(link: string, tag: string): string {
  return `${link}.${tag}.tmp`;
}

/** The target of an app's `current` link; undefined when missing or not a link. */
export async function readCurrent(app: AppPaths): Promise<string | undefined> {
  try {
    return await io(
      "read link",
      app.current,
      () => atParent(app.current, (dir, name) => dir.readLink(name)),
    );
  } catch (e) {
    if (e instanceof NxError && isErrno(e.cause, "ENOENT")) return undefined;
    throw e;
  }
}

/** Renames `from` to `to` when `from` exists and `to` does not (idempotent move for undo). */
export async function moveIfPresent(from: string, to: string): Promise<void> {
  if (!(await exists(from)) || (await exists(to))) return;
  await rename(from, to);
  await fsyncDir(dirname(from));
  if (dirname(to) !== dirname(from)) await fsyncDir(dirname(to));
}

export function freeBytes(path: string): Promise<number> {
  return io("statfs", path, () => availableBytes(path));
}

/** Sorted entry names of a directory ([] when missing); a link there is `root.unsafe_entry`. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return await io("list", path, () => {
      const dir = openDirAt(path);
      try {
        return dir.list();
      } finally {
        dir.close();
      }
    });
  } catch (e) {
    if (e instanceof NxError && isErrno(e.cause, "ENOENT")) return [];
    throw e;
  }
}
