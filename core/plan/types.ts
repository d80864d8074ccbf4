/**
 * A plan is a value: the steps of one transaction, computed purely from the request and a
 * snapshot of the root. Every pre-commit step has a symmetric undo (docs/transactions.md).
 */
import type {
  AppRecord,
  Operation,
  PathChange,
  PermissionDiff,
  PostStep,
  RestoreReport,
  Step,
  StepKind,
} from "../api/mod.ts";

// The steps are part of the contract (an OpResult shows them): defined in core/api/records.ts.
export type { Operation, PostStep, Step, StepKind };

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
  /** uninstall, clear-data: each path the plan removes or keeps, and its size. */
  paths?: PathChange[];
  /** reinstall, repair: what is wrong with the active version's files, and the source. */
  restored?: RestoreReport;
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
  "verify-staged",
  "retire-files",
  "detach-data",
  "create-data",
];
