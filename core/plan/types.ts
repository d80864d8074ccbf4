/**
 * A plan is a value: the steps of one transaction, computed purely from the request and a
 * snapshot of the root. Every pre-commit step has a symmetric undo (docs/transactions.md).
 */
import type { MigrationStep } from "../bundle/mod.ts";
import type { AppRecord, PermissionDiff } from "../registry/mod.ts";

export type Operation = "install" | "upgrade" | "rollback" | "uninstall";

/** Pre-commit steps; the executor pairs each with its undo. */
export type Step =
  /** mkdir apps/<id> | undo: rmdir apps/<id> when empty */
  | { kind: "create-app-dir" }
  /** move an existing versions/<v> and data/<v> aside | undo: move them back */
  | { kind: "retire-version"; version: string }
  /** copy + re-hash the verified bundle into staging | undo: remove the staging copy */
  | { kind: "stage-version"; version: string }
  /** copy data/<from> (installed or kept) or start empty, in staging | undo: remove the copy */
  | { kind: "prepare-data"; from: string | null }
  /** run the migration chain on the staging copy | undo: nothing (staging is discarded) */
  | { kind: "run-migrations"; chain: MigrationStep[] }
  /** rename the staged bundle to versions/<v> | undo: remove versions/<v> */
  | { kind: "publish-version"; version: string }
  /** rename the staging data to data/<v> | undo: remove data/<v> */
  | { kind: "publish-data"; version: string }
  /** point `current` at versions/<to> | undo: point it back at <from> (or remove it) */
  | { kind: "switch-current"; to: string; from: string | null }
  /** write plan.after to the registry (or unregister) | undo: restore plan.before */
  | { kind: "commit-registry" }
  /** uninstall: move apps/<id> (or, keeping data, its versions and `current`) into staging,
   * where nothing sees it | undo: move it back */
  | { kind: "detach-app"; keepData: boolean };

export type StepKind = Step["kind"];

/** After the commit point: idempotent, never undone; failures are warnings. */
export type PostStep =
  | { kind: "gc-versions"; versions: string[] }
  | { kind: "warm-icon-cache"; version: string; icon: string }
  | { kind: "drop-icon-cache" }
  /** Registry notification: rewrite pkg/registry.stamp, which watchers (the Apps page) follow. */
  | { kind: "notify-registry" }
  | { kind: "purge-staging" };

export interface Plan {
  txid: string;
  op: Operation;
  appId: string;
  fromVersion: string | null;
  toVersion: string | null;
  /** Absolute path of the verified bundle the stage step copies from (install/upgrade). */
  source?: string;
  steps: Step[];
  post: PostStep[];
  /** The app's registry record before and after (undefined: not installed). */
  before?: AppRecord;
  after?: AppRecord;
  diff?: PermissionDiff;
}

export const POST_KINDS: readonly PostStep["kind"][] = [
  "gc-versions",
  "warm-icon-cache",
  "drop-icon-cache",
  "notify-registry",
  "purge-staging",
];

/** Every step kind, in the order an install or upgrade runs them (fault triggers name these). */
export const STEP_KINDS: readonly StepKind[] = [
  "create-app-dir",
  "stage-version",
  "prepare-data",
  "run-migrations",
  "retire-version",
  "publish-version",
  "publish-data",
  "switch-current",
  "commit-registry",
  "detach-app",
];
