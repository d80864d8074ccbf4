/** Writing and reading whole directory trees durably (bundle output, staging). */
import { dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { checkIoFault } from "./faults.ts";
import { exists, fsyncDir, ioError, mkdirp, removeTree, syncAll } from "./fs.ts";

/** Writes every file, then makes them and every directory durable (see syncAll). */
export async function writeTree(
  dir: string,
  files: ReadonlyMap<string, Uint8Array>,
  mode = 0o644,
): Promise<void> {
  const dirs = new Set<string>([dir]);
  const written: string[] = [];
  for (const [rel, bytes] of files) {
    const path = join(dir, rel);
    await mkdirp(dirname(path));
    for (let d = dirname(path); d.length > dir.length; d = dirname(d)) dirs.add(d);
    try {
      const file = Deno.openSync(path, { write: true, createNew: true, mode });
      try {
        checkIoFault("write", path);
        let done = 0;
        while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
      } finally {
        file.close();
      }
    } catch (e) {
      throw ioError("write", path, e);
    }
    written.push(path);
  }
  await syncAll(written, dirs);
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
    if (hadOld) await Deno.rename(target, old);
    await Deno.rename(tmp, target);
    await fsyncDir(dirname(target));
    if (hadOld) await removeTree(old);
  } catch (e) {
    await removeTree(tmp);
    throw ioError("publish", target, e);
  }
}

/** Reads every regular file below `dir` (refusing links and special files), bundle-relative. */
export async function readTree(dir: string, prefix: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (!await exists(dir)) return out;
  const visit = async (abs: string, rel: string) => {
    for await (const entry of Deno.readDir(abs)) {
      const childAbs = join(abs, entry.name);
      const childRel = `${rel}/${entry.name}`;
      if (entry.isSymlink) throw new NxError("bundle.symlink", `cannot pack symlink ${childRel}`);
      if (entry.isDirectory) await visit(childAbs, childRel);
      else if (entry.isFile) out.set(childRel, await Deno.readFile(childAbs));
      else throw new NxError("bundle.special_file", `cannot pack special file ${childRel}`);
    }
  };
  try {
    await visit(dir, prefix);
  } catch (e) {
    throw ioError("read", dir, e);
  }
  return out;
}
