/** plan(rollback) and plan(uninstall). Pure. */
import { NxError } from "../errors.ts";
import { checkDependents } from "./preflight.ts";
import { activate, iconPost, permissionDiff } from "./records.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Plan } from "./types.ts";

export interface RollbackPlanInput {
  txid: string;
  appId: string;
  to?: string;
}

function installedOrThrow(appId: string, snap: Snapshot, action: string) {
  if (!snap.installed) {
    throw new NxError("app.not_installed", `cannot ${action} ${appId}: it is not installed`);
  }
  return snap.installed;
}

/** Re-links a retained version and its data: no re-download, no re-extraction. */
export function planRollback(req: RollbackPlanInput, snap: Snapshot): Plan {
  const installed = installedOrThrow(req.appId, snap, "roll back");
  const candidates = installed.versions.filter((v) => v.version !== installed.version);
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
    throw new NxError(
      "rollback.version_not_retained",
      `cannot roll back ${req.appId} to ${req.to}: not retained`,
      {
        details: { retained: candidates.map((v) => v.version), current: installed.version },
      },
    );
  }
  checkDependents(req.appId, target.version, snap);
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
  keepData: boolean;
}

/** Detaches the app (one rename) and unregisters it; the detached tree is purged after commit. */
export function planUninstall(req: UninstallPlanInput, snap: Snapshot): Plan {
  const installed = installedOrThrow(req.appId, snap, "uninstall");
  checkDependents(req.appId, null, snap);
  return {
    txid: req.txid,
    op: "uninstall",
    appId: req.appId,
    fromVersion: installed.version,
    toVersion: null,
    steps: [{ kind: "detach-app", keepData: req.keepData }, { kind: "commit-registry" }],
    post: [{ kind: "drop-icon-cache" }, { kind: "notify-registry" }, { kind: "purge-staging" }],
    before: installed,
    after: undefined,
  };
}
