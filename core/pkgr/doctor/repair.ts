/**
 * `doctor --repair`: one action per repairable finding, each preceded by the confinement check
 * (confine.ts). Deletions go through the store's `removeTree`, which removes a link itself and
 * never follows one. Nothing that is an install is deleted: unregistered installs are registered.
 */
import { basename, relative } from "node:path";
import { NxError } from "../../errors.ts";
import {
  appPaths,
  listDir,
  removeIfEmpty,
  removeTree,
  replaceSymlink,
  type RootPaths,
} from "../../store/mod.ts";
import { versionRecord } from "../../plan/mod.ts";
import type { OpContext } from "../context.ts";
import type { Session } from "../session.ts";
import { adoptApp, describeRecord, verifyVersion } from "./adopt.ts";
import { confinementProblem } from "./confine.ts";
import { isInstall } from "./compare.ts";
import type { EntryKind } from "./layout.ts";
import type { Finding } from "./types.ts";
import type { RootTree } from "./walk.ts";

export type RepairOutcome = { action: string } | { refused: string };

const ANY: EntryKind[] = ["file", "dir", "symlink", "fifo", "socket", "char", "block"];

async function removeConfined(
  root: string,
  path: string,
  last: EntryKind[],
  action: string,
): Promise<RepairOutcome> {
  const problem = await confinementProblem(root, path, last);
  if (problem) return { refused: problem };
  await removeTree(path);
  return { action };
}

async function relinkCurrent(paths: RootPaths, f: Finding, s: Session): Promise<RepairOutcome> {
  const record = await s.registry.get(f.app!);
  if (!record) return { refused: `${f.app} is no longer registered` };
  const p = appPaths(paths, record.id);
  const problem = await confinementProblem(paths.root, p.version(record.version), ["dir"]) ??
    await confinementProblem(paths.root, p.current, ["symlink"], { missingOk: true });
  if (problem) return { refused: problem };
  await replaceSymlink(p.current, `versions/${record.version}`, "doctor");
  return { action: `relinked current of ${record.id} to ${record.version}` };
}

/** Registers every unregistered install of the tree whose active version verifies. */
async function adoptAll(
  paths: RootPaths,
  tree: RootTree,
  s: Session,
  ctx: OpContext,
  only?: string,
): Promise<RepairOutcome> {
  const registered = new Set((await s.registry.list()).map((a) => a.id));
  const done: string[] = [];
  const refused: string[] = [];
  for (const t of tree.apps.values()) {
    if ((only !== undefined && t.id !== only) || registered.has(t.id) || !isInstall(t)) continue;
    const problem = await confinementProblem(paths.root, t.dir, ["dir"]);
    if (problem) {
      refused.push(problem);
      continue;
    }
    const adoption = await adoptApp(t, s, ctx, appPaths(paths, t.id).version);
    if (!adoption.record) {
      refused.push(`${t.id}: ${adoption.reason}`);
      continue;
    }
    await s.registry.register(adoption.record);
    done.push(describeRecord(adoption.record));
  }
  if (done.length === 0) return { refused: refused.join("; ") || "no install to register" };
  return {
    action: `registered ${done.join("; ")} from the verified tree${done.length === 1 ? "" : "s"}`,
  };
}

async function adoptVersion(
  paths: RootPaths,
  f: Finding,
  s: Session,
  ctx: OpContext,
): Promise<RepairOutcome> {
  const record = await s.registry.get(f.app!);
  if (!record) return { refused: `${f.app} is no longer registered` };
  const problem = await confinementProblem(paths.root, f.path, ["dir"]);
  if (problem) return { refused: problem };
  const version = basename(f.path);
  const verdict = await verifyVersion(f.path, record.id, version, s, ctx);
  if (!verdict.ok) return { refused: verdict.reason };
  if (verdict.bundle.manifest.publisher !== record.publisher) {
    return { refused: `published by ${verdict.bundle.manifest.publisher}` };
  }
  await s.registry.register({
    ...record,
    versions: [...record.versions, versionRecord(verdict.bundle, ctx.now.toISOString())],
  });
  return { action: `registered ${version} as a retained version of ${record.id}` };
}

/** An app directory with no installed version: its empty skeleton goes, its data stays. */
async function removeSkeleton(paths: RootPaths, f: Finding): Promise<RepairOutcome> {
  const p = appPaths(paths, f.app!);
  const problem = await confinementProblem(paths.root, p.dir, ["dir"]);
  if (problem) return { refused: problem };
  for (const [path, kinds] of [[p.current, ["symlink"]], [p.versions, ["dir"]]] as const) {
    const why = await confinementProblem(paths.root, path, kinds);
    if (why === undefined) {
      if (kinds[0] === "dir") await removeIfEmpty(path);
      else await removeTree(path);
    }
  }
  if ((await listDir(p.dir)).length === 0) await removeIfEmpty(p.dir);
  return { action: `removed the empty app directory of ${f.app} (its data, if any, is kept)` };
}

export async function repair(
  f: Finding,
  paths: RootPaths,
  tree: RootTree,
  s: Session,
  ctx: OpContext,
): Promise<RepairOutcome> {
  const root = paths.root;
  const rel = relative(root, f.path);
  switch (f.kind) {
    case "staging-leftover":
      return await removeConfined(root, f.path, ANY, `removed leftover ${rel} (no link followed)`);
    case "temp-leftover":
      return await removeConfined(root, f.path, ["file", "symlink"], `removed temp file ${rel}`);
    case "unsafe-link":
      return await removeConfined(root, f.path, ["symlink"], unlinked(rel));
    case "data-orphan":
      return await removeConfined(
        root,
        f.path,
        ["dir"],
        `removed ${rel}: data of no retained version`,
      );
    case "current-mismatch":
      return await relinkCurrent(paths, f, s);
    case "version-orphan":
      return await adoptVersion(paths, f, s, ctx);
    case "app-orphan":
      return tree.apps.get(f.app!)?.versions.size
        ? await adoptAll(paths, tree, s, ctx, f.app)
        : await removeSkeleton(paths, f);
    case "registry-missing":
      return await adoptAll(paths, tree, s, ctx);
    default:
      throw new NxError("internal.unexpected", `cannot repair ${f.kind}: it is not repairable`);
  }
}

/** Before the session: only links removable by their kind (the lock, staging, root.json …). */
export async function repairBeforeSession(f: Finding, paths: RootPaths): Promise<RepairOutcome> {
  if (f.kind !== "unsafe-link" || !f.repairable) {
    return { refused: `${f.kind} is not repaired before the session` };
  }
  return await removeConfined(
    paths.root,
    f.path,
    ["symlink"],
    unlinked(relative(paths.root, f.path)),
  );
}

const unlinked = (rel: string) => `removed link ${rel} (its target was not touched)`;
