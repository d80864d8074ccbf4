/**
 * What doctor checks before it opens a session: the entries the session itself goes through (the
 * skeleton, the lock, the journal, the registry files, the policy, staging and the icon cache
 * that recovery may touch). A link or a special file there would be traversed, locked, read or
 * written by the session before any check ran, so doctor reports them first and, while one
 * remains, goes no further.
 */
import { join } from "node:path";
import { lstatAt, type RootPaths } from "../../store/mod.ts";
import { PKG_ENTRIES, SPECIAL_KINDS, wrongType } from "./layout.ts";
import { type Finding, finding } from "./types.ts";

export async function gateFindings(paths: RootPaths): Promise<Finding[]> {
  const out: Finding[] = [];
  const root = await Deno.stat(paths.root).catch((e) => {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  });
  if (root === undefined) return out; // a new root: doctor creates the skeleton
  if (!root.isDirectory) {
    return [finding("stray-entry", paths.root, "the root is not a directory", false)];
  }
  const check = async (path: string, want: "file" | "dir", removableLink: boolean) => {
    const info = await lstatAt(path);
    if (info === undefined || info.type === want) return info?.type === want;
    const kind = wrongType(info.type);
    const message = kind === "unsafe-link"
      ? `a symbolic link where the layout has a ${want}; nx never follows it${
        removableLink ? "" : " (put the real entry back by hand)"
      }`
      : SPECIAL_KINDS.has(info.type)
      ? `a ${info.type} device or pipe where the layout has a ${want}`
      : `a ${info.type} where the layout has a ${want}`;
    out.push(finding(kind, path, message, kind === "unsafe-link" && removableLink));
    return false;
  };
  await check(paths.apps, "dir", false);
  if (!(await check(paths.pkg, "dir", false))) return out;
  for (const [name, entry] of Object.entries(PKG_ENTRIES)) {
    await check(join(paths.pkg, name), entry.type, entry.removableLink);
  }
  return out;
}
