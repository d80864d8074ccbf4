/**
 * The registry against the tree model (walk.ts): every retained version's files, hashed by the
 * walk, against its record, `current` against the active version, and what the tree holds that the registry does
 * not. A directory the registry does not list is never taken for garbage when it is an install:
 * an unregistered app or version is re-registered from its verified tree by `--repair`.
 */
import { join } from "node:path";
import type { AppRecord } from "../../registry/mod.ts";
import { appPaths, type RootPaths } from "../../store/mod.ts";
import type { OpContext } from "../context.ts";
import type { Session } from "../session.ts";
import { adoptApp, verifyVersion } from "./adopt.ts";
import { type Finding, finding } from "./types.ts";
import type { AppTree, Expected, RootTree, VersionFiles } from "./walk.ts";

export interface Check {
  findings: Finding[];
  files: number;
}

/** A retained version's files (read by the walk) against its record. */
function checkVersionFiles(
  app: AppRecord,
  dir: string,
  version: AppRecord["versions"][number],
  files: VersionFiles,
  check: Check,
): void {
  const expected = new Map(version.files.map((f) => [f.path, f]));
  const extra = { app: app.id };
  for (const rel of [...files.keys()].sort()) {
    const got = files.get(rel)!;
    const want = expected.get(rel);
    check.files++;
    const path = join(dir, rel);
    if (!want) {
      check.findings.push(
        finding("file-unexpected", path, "not part of the installed bundle", false, extra),
      );
    } else if (got.size !== want.size || got.sha256 !== want.sha256) {
      check.findings.push(
        finding("file-digest-mismatch", path, "content differs from the installed bundle", false, {
          app: app.id,
        }),
      );
    }
    expected.delete(rel);
  }
  for (const f of expected.values()) {
    check.findings.push(finding("file-missing", join(dir, f.path), "missing", false, extra));
  }
}

/** What the registry expects in each version tree, for the walk (walk.ts `Expected`). */
export function expectedFiles(apps: readonly AppRecord[]): Expected {
  const byApp = new Map(apps.map((a) => [a.id, a]));
  return (id, version) => {
    const v = byApp.get(id)?.versions.find((v) => v.version === version);
    return v && new Map(v.files.map((f) => [f.path, f.size]));
  };
}

/** One registered app against its tree. */
export async function checkRegistered(
  paths: RootPaths,
  app: AppRecord,
  tree: RootTree,
  s: Session,
  ctx: OpContext,
  check: Check,
): Promise<void> {
  const p = appPaths(paths, app.id);
  const extra = { app: app.id };
  const t = tree.apps.get(app.id);
  if (!t) {
    check.findings.push(
      finding("app-dir-missing", p.dir, "registered but not a directory on disk", false, extra),
    );
    return;
  }
  const target = t.current.kind === "link" ? t.current.target : undefined;
  if (target !== `versions/${app.version}`) {
    check.findings.push(finding(
      "current-mismatch",
      p.current,
      `links to ${target ?? "nothing"}, registry says versions/${app.version}`,
      t.versions.has(app.version) && t.current.kind !== "other",
      extra,
    ));
  }
  const retained = new Set(app.versions.map((v) => v.version));
  for (const v of app.versions) {
    const dir = p.version(v.version);
    const found = t.versions.get(v.version);
    if (!found) {
      check.findings.push(
        finding("version-missing", dir, "retained version missing", false, extra),
      );
    } else if (found.clean) {
      checkVersionFiles(app, dir, v, found.files, check);
    }
    if (!t.data.has(v.version)) {
      check.findings.push(finding(
        "data-missing",
        p.dataOf(v.version),
        "data of a retained version missing",
        false,
        extra,
      ));
    }
  }
  for (const name of t.versions.keys()) {
    if (retained.has(name)) continue;
    const verdict = await verifyVersion(p.version(name), app.id, name, s, ctx);
    const samePublisher = verdict.ok && verdict.bundle.manifest.publisher === app.publisher;
    check.findings.push(finding(
      "version-orphan",
      p.version(name),
      samePublisher
        ? "not in the registry; it verifies, so --repair registers it as a retained version"
        : `not in the registry and it does not verify (${
          verdict.ok ? `published by ${verdict.bundle.manifest.publisher}` : verdict.reason
        }): kept on disk`,
      samePublisher,
      { app: app.id, code: verdict.ok ? undefined : verdict.code },
    ));
  }
  for (const name of t.data) {
    // The data of a version on disk goes with that version (registered or re-registered).
    if (retained.has(name) || t.versions.has(name)) continue;
    check.findings.push(
      finding("data-orphan", p.dataOf(name), "data of no retained version", true, extra),
    );
  }
}

/** Whether an unregistered app directory is an install (versions or a current link). */
export function isInstall(t: AppTree): boolean {
  return t.versions.size > 0 || t.current.kind !== "missing";
}

/**
 * An app directory the registry does not list. Kept data alone (`uninstall --keep-data`) is not
 * an orphan. An install is re-registered by `--repair` when its active version verifies; an app
 * directory left without any version (a bare skeleton) is removed, its data kept.
 */
export async function checkUnregistered(
  t: AppTree,
  s: Session,
  ctx: OpContext,
  paths: RootPaths,
  check: Check,
): Promise<void> {
  if (!isInstall(t)) return;
  const p = appPaths(paths, t.id);
  if (t.versions.size === 0) {
    check.findings.push(finding(
      "app-orphan",
      t.dir,
      "on disk but not registered, with no installed version: --repair removes the empty skeleton (data is kept)",
      true,
      { app: t.id },
    ));
    return;
  }
  const adoption = await adoptApp(t, s, ctx, p.version);
  check.findings.push(finding(
    "app-orphan",
    t.dir,
    adoption.record
      ? "on disk but not registered; its active version verifies, so --repair registers it"
      : `on disk but not registered, and ${adoption.reason}: kept on disk`,
    adoption.record !== undefined,
    { app: t.id },
  ));
  check.findings.push(...adoption.unverified);
}
