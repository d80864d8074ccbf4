/**
 * Where a path's walk starts. Every state root this process derives paths for (`rootPaths`) is
 * an anchor: a path below it is opened from the root's directory one component at a time with
 * O_NOFOLLOW, so a link planted anywhere inside the root is refused (`root.unsafe_entry`) instead
 * of followed. The root's own path, and paths outside every root (a bundle, `--out`, key files),
 * are the caller's choice and are resolved as given.
 */
import { dirname, resolve } from "node:path";
import { NxError } from "../errors.ts";
import { DirHandle, isErrno } from "./handles.ts";

const anchors = new Set<string>();

/** Registers a state root as an anchor (idempotent; called by `rootPaths`). */
export function anchorRoot(root: string): void {
  anchors.add(resolve(root));
}

function anchorOf(path: string): string | undefined {
  let best: string | undefined;
  for (const a of anchors) {
    if ((path === a || path.startsWith(a + "/")) && (!best || a.length > best.length)) best = a;
  }
  return best;
}

export function unsafeEntry(path: string, cause?: unknown): NxError {
  return new NxError(
    "root.unsafe_entry",
    `cannot traverse ${path}: a link, special file or non-directory stands where the layout has a directory`,
    { details: { path }, hint: "run `nx pkg doctor` to list what does not belong", cause },
  );
}

/**
 * Opens the directory at `path`. Below an anchor, every component is opened without following
 * a link; with `create`, missing directories are made with that mode.
 */
export function openDirAt(path: string, create?: number): DirHandle {
  const abs = resolve(path);
  const anchor = anchorOf(abs);
  if (anchor === undefined) {
    if (create !== undefined) Deno.mkdirSync(abs, { recursive: true, mode: create });
    return DirHandle.open(abs);
  }
  if (create !== undefined) Deno.mkdirSync(anchor, { recursive: true, mode: 0o755 });
  let dir = DirHandle.open(anchor);
  const parts = abs.slice(anchor.length).split("/").filter(Boolean);
  try {
    for (const part of parts) {
      if (create !== undefined) dir.mkdir(part, create);
      const next = dir.openDir(part);
      dir.close();
      dir = next;
    }
    return dir;
  } catch (e) {
    dir.close();
    if (isErrno(e, "ELOOP", "ENOTDIR")) throw unsafeEntry(abs, e);
    throw e;
  }
}

/** Runs `body` with the directory holding `path` and `path`'s last component. */
export function atParent<T>(
  path: string,
  body: (dir: DirHandle, name: string) => T,
  create?: number,
): T {
  const abs = resolve(path);
  const dir = openDirAt(dirname(abs), create);
  try {
    return body(dir, abs.slice(abs.lastIndexOf("/") + 1));
  } finally {
    dir.close();
  }
}
