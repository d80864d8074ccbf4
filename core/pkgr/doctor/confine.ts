/**
 * The check every repair runs right before it acts: the path lies strictly inside the root and,
 * lstat'ed one component at a time from the root down, every component but the last is a real
 * directory (no link is traversed) and the last is of the type the finding saw. Otherwise the
 * repair does not run and the finding stays.
 */
import { isAbsolute, join, relative } from "node:path";
import { NxError } from "../../errors.ts";
import { lstatAt } from "../../store/mod.ts";
import type { EntryKind } from "./layout.ts";

/** Why `path` may not be acted on, or undefined when it may. */
export async function confinementProblem(
  root: string,
  path: string,
  last: readonly EntryKind[],
  options: { missingOk?: boolean } = {},
): Promise<string | undefined> {
  const rel = relative(root, path);
  const parts = rel.split("/");
  if (rel === "" || isAbsolute(rel) || parts.some((p) => p === ".." || p === "." || p === "")) {
    return `${path} is not inside the root ${root}`;
  }
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    let info;
    try {
      info = await lstatAt(at);
    } catch (e) {
      if (e instanceof NxError && e.code === "root.unsafe_entry") {
        return `${at} cannot be reached without following a link`;
      }
      throw e;
    }
    const isLast = i === parts.length - 1;
    if (info === undefined) {
      return isLast && options.missingOk ? undefined : `${at} no longer exists`;
    }
    if (!isLast && info.type !== "dir") {
      return `${at} is a ${info.type}, not a directory: acting below it would traverse it`;
    }
    if (isLast && !last.includes(info.type)) {
      return `${at} is now a ${info.type} (expected ${last.join(" or ")})`;
    }
  }
  return undefined;
}
