/** plan(rollback) and plan(uninstall). Pure. */
import { NxError } from "../errors.ts";
import type { AppRecord, PathChange } from "../api/mod.ts";
import { notInstalled } from "./closest.ts";
import { checkDependents } from "./preflight.ts";
import { activate, iconPost, permissionDiff } from "./records.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Plan } from "./types.ts";

export interface RollbackPlanInput {
  txid: string;
  appId: string;
  to?: string;
}

/** The app's record, or `app.not_installed` with the next step (a near id, or kept data). */
export function installedOrThrow(appId: string, snap: Snapshot, action: string): AppRecord {
  if (snap.installed) return snap.installed;
  const kept = snap.keptData.length > 0
    ? `its data is kept under apps/${appId}/data: \`nx pkg clear-data ${appId}\` removes it`
    : undefined;
  throw notInstalled(appId, action, snap.apps.keys(), kept);
}

/** Re-links a retained version and its data: no re-download, no re-extraction. */
export function planRollback(req: RollbackPlanInput, snap: Snapshot): Plan {
  const installed = installedOrThrow(req.appId, snap, "roll back");
  const candidates = installed.versions.filter((v) => v.version !== installed.version);
  const retained = candidates.map((v) => v.version);
  if (candidates.length === 0) {
    throw new NxError(
      "rollback.nothing_retained",
      `cannot roll back ${req.appId}: no previous version is retained`,
      {
        hint: "nx keeps the previous versions set by the policy's retain-versions (default 2)",
      },
    );
  }
  const target = req.to === undefined
    ? candidates[0]
    : candidates.find((v) => v.version === req.to);
  if (!target) {
    const active = req.to === installed.version;
    throw new NxError(
      "rollback.version_not_retained",
      active
        ? `cannot roll back ${req.appId} to ${req.to}: it is the active version`
        : `cannot roll back ${req.appId} to ${req.to}: not retained`,
      {
        hint: `retained: ${retained.join(", ")} (\`nx pkg rollback ${req.appId} --to ${
          retained[0]
        }\`)`,
        details: { retained, current: installed.version },
      },
    );
  }
  checkDependents(req.appId, target.version, snap, `roll back ${req.appId} to ${target.version}`);
  const diff = permissionDiff(installed.versions[0].manifest, target.manifest);
  const { record } = activate(
    installed,
    target,
    installed.versions,
    installed.versions.length,
    diff,
    snap.now,
  );
  return {
    txid: req.txid,
    op: "rollback",
    appId: req.appId,
    fromVersion: installed.version,
    toVersion: target.version,
    steps: [
      { kind: "switch-current", to: target.version, from: installed.version },
      { kind: "commit-registry" },
    ],
    post: [
      ...iconPost(target.manifest, target.version),
      { kind: "notify-registry" },
      { kind: "purge-staging" },
    ],
    before: installed,
    after: record,
    diff,
  };
}

export interface UninstallPlanInput {
  txid: string;
  appId: string;
  /** Delete the data too (flatpak's `--delete-data`); by default it stays for a reinstall. */
  purge: boolean;
}

/** Each data/<v> on disk with its size (what `snap.dataSizes` measured), root-relative. */
export function dataPaths(appId: string, snap: Snapshot, action: PathChange["action"]) {
  return (snap.dataSizes ?? []).map((d): PathChange => ({
    path: `apps/${appId}/data/${d.version}`,
    size: d.size,
    action,
  }));
}

/**
 * Detaches the app (one rename) and unregisters it; the detached tree is purged after commit.
 * Its data stays (a later install of the same publisher's app adopts it) unless `purge`.
 */
export function planUninstall(req: UninstallPlanInput, snap: Snapshot): Plan {
  const installed = installedOrThrow(req.appId, snap, "uninstall");
  checkDependents(req.appId, null, snap, `uninstall ${req.appId}`);
  const keepData = !req.purge;
  const paths: PathChange[] = [
    ...installed.versions.map((v): PathChange => ({
      path: `apps/${req.appId}/versions/${v.version}`,
      size: v.size,
      action: "remove",
    })),
    ...dataPaths(req.appId, snap, keepData ? "keep" : "remove"),
  ];
  return {
    txid: req.txid,
    op: "uninstall",
    appId: req.appId,
    fromVersion: installed.version,
    toVersion: null,
    steps: [{ kind: "detach-app", keepData }, { kind: "commit-registry" }],
    post: [{ kind: "drop-icon-cache" }, { kind: "notify-registry" }, { kind: "purge-staging" }],
    before: installed,
    after: undefined,
    paths,
  };
}
