/** Writing and reading whole directory trees durably (bundle output, pack sources). */
import { dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { openDirAt } from "./anchored.ts";
import { Durable, exists, fsyncDir, ioError, readAll, removeTree, rename, writeAll } from "./fs.ts";
import { DirHandle, type FileHandle, isErrno } from "./handles.ts";

/** Writes every file, then makes them and every directory durable (see Durable). */
// deno-lint-ignore require-await -- async for callers; the writes are direct calls on purpose
export async function writeTree(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  mode = 0o644,
): Promise<void> {
  const durable = new Durable();
  const open = new Map<string, DirHandle>();
  const dirAt = (rel: string): DirHandle => {
    const hit = open.get(rel);
    if (hit) return hit;
    const made = openDirAt(join(dir, rel), 0o755);
    open.set(rel, made);
    durable.dir(join(dir, rel));
    return made;
  };
  try {
    for (const [rel, bytes] of files) {
      const cut = rel.lastIndexOf("/");
      const parent = dirAt(cut < 0 ? "" : rel.slice(0, cut));
      const path = join(dir, rel);
      try {
        const file = parent.openFile(rel.slice(cut + 1), {
          write: true,
          create: mode,
          exclusive: true,
        });
        durable.fill(file, (f) => writeAll(f, bytes));
      } catch (e) {
        throw ioError("write", path, e);
      }
    }
    durable.finish();
  } catch (e) {
    durable.abandon();
    throw ioError("write", dir, e);
  } finally {
    for (const d of open.values()) d.close();
  }
}

/**
 * Publishes a tree at `target` atomically: written under a temp name beside it, then renamed.
 * With `replace`, an existing target is swapped out and removed after the rename.
 */
export async function publishTree(
  target: string,
  files: ReadonlyMap<string, Uint8Array>,
  replace: boolean,
): Promise<void> {
  if (!replace && await exists(target)) {
    throw new NxError("pack.output_exists", `cannot write ${target}: it already exists`, {
      hint: "pass --force to replace it",
    });
  }
  const tmp = `${target}.${Deno.pid}.tmp`;
  const old = `${target}.${Deno.pid}.old`;
  await removeTree(tmp);
  try {
    await writeTree(tmp, files);
    const hadOld = await exists(target);
    if (hadOld) await rename(target, old);
    await rename(tmp, target);
    await fsyncDir(dirname(target));
    if (hadOld) await removeTree(old);
  } catch (e) {
    await removeTree(tmp);
    throw ioError("publish", target, e);
  }
}

function refuse(rel: string, type: string): NxError {
  return type === "symlink"
    ? new NxError("bundle.symlink", `cannot pack symlink ${rel}`, { details: { path: rel } })
    : new NxError("bundle.special_file", `cannot pack ${type} ${rel}`, { details: { path: rel } });
}

/** Reads one regular file of a directory, never through a link; undefined when missing. */
function readChild(dir: DirHandle, name: string, rel: string): Uint8Array | undefined {
  let file: FileHandle;
  try {
    file = dir.openFile(name);
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    if (isErrno(e, "ELOOP")) throw refuse(rel, "symlink");
    throw e;
  }
  try {
    const info = file.stat();
    if (info.type !== "file") throw refuse(rel, info.type);
    return readAll(file, info.size);
  } finally {
    file.close();
  }
}

/** Reads `name` in the pack source `dir` (a link or special file there is refused). */
export function readSourceFile(
  dir: string,
  name: string,
): Promise<Uint8Array | undefined> {
  return withSource(dir, (top) => readChild(top, name, name), undefined);
}

/**
 * Reads every regular file below `sub` of the pack source `dir`, bundle-relative; `sub` itself
 * and everything below it must be real directories and regular files (links, specials refused).
 */
export function readTree(dir: string, sub: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const visit = (d: DirHandle, rel: string) => {
    for (const entry of d.entries()) {
      const childRel = `${rel}/${entry.name}`;
      const info = d.stat(entry.raw);
      if (info === undefined) continue;
      if (!entry.utf8) {
        throw new NxError("bundle.unsafe_path", `cannot pack ${childRel}: not valid UTF-8`);
      }
      if (info.type === "dir") {
        const next = openSub(d, entry.name, childRel);
        try {
          visit(next, childRel);
        } finally {
          next.close();
        }
      } else if (info.type === "file") out.set(childRel, readChild(d, entry.name, childRel)!);
      else throw refuse(childRel, info.type);
    }
  };
  return withSource(dir, (top) => {
    if (top.stat(sub) === undefined) return out;
    const start = openSub(top, sub, sub);
    try {
      visit(start, sub);
    } finally {
      start.close();
    }
    return out;
  });
}

function openSub(dir: DirHandle, name: string, rel: string): DirHandle {
  try {
    return dir.openDir(name);
  } catch (e) {
    if (isErrno(e, "ELOOP")) throw refuse(rel, "symlink");
    if (isErrno(e, "ENOTDIR")) throw refuse(rel, dir.stat(name)?.type ?? "special file");
    throw e;
  }
}

/** Runs `body` on the pack source directory; `ifMissing` when there is none (if given). */
// deno-lint-ignore require-await -- async for callers
async function withSource<T, M = never>(
  dir: string,
  body: (top: DirHandle) => T,
  ...ifMissing: [M] | []
): Promise<T | M> {
  let top: DirHandle | undefined;
  try {
    top = DirHandle.open(dir);
    return body(top);
  } catch (e) {
    if (top === undefined && ifMissing.length > 0 && isErrno(e, "ENOENT")) return ifMissing[0]!;
    throw ioError("read", dir, e);
  } finally {
    top?.close();
  }
}
