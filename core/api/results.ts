/**
 * What the methods of the contract resolve to (methods.ts maps each method to one of these).
 * Plain data: a result is rendered by the CLI (cli/render) from the value alone, so a result that
 * crossed a wire renders exactly as a local one. Types only; the schemas are in result_schemas.ts.
 */
import type { ErrorCode } from "../errors.ts";
import type { VerifiedBundle } from "../trust/mod.ts";
import type {
  AppRecord,
  AuditEntry,
  Operation,
  PermissionDiff,
  PostStep,
  Step,
} from "./records.ts";

export type { Policy, Publisher, VerifiedBundle } from "../trust/mod.ts";

/** A path an operation removes or keeps, relative to the root, with its bytes on disk. */
export interface PathChange {
  path: string;
  size: number;
  action: "remove" | "keep";
}

/**
 * What reinstall or repair found wrong with the active version's files (bundle-relative paths),
 * and where the files put back come from: the bundle given, or the copy nx keeps.
 */
export interface RestoreReport {
  source: "bundle" | "kept";
  missing: string[];
  changed: string[];
  unexpected: string[];
}

/** install, upgrade, rollback, uninstall: the plan that ran (or, on a dry run, would run). */
export interface OpResult {
  op: Operation;
  appId: string;
  fromVersion: string | null;
  toVersion: string | null;
  dryRun: boolean;
  steps: Step[];
  post: PostStep[];
  diff?: PermissionDiff;
  warnings: { code: string; message: string }[];
  /** uninstall, clear-data: each path removed or kept, and its size. */
  paths?: PathChange[];
  /** reinstall, repair: what was (or would be) restored. */
  restored?: RestoreReport;
}

/** One row of `list`. */
export interface AppSummary {
  id: string;
  version: string;
  /** `broken`: the registry's state, but its `current` link does not lead to `version`. */
  state: AppRecord["state"] | "broken";
  /** Why the state is `broken`, in one line (`nx pkg doctor` says what to do). */
  problem?: string;
  publisher: string;
  bundleType: string;
  sku?: string;
  /**
   * A paid app (`sku`) the entitlement gate refuses now: the `entitlement.*` code; its state is
   * then `inactive` (launch refused) until a valid entitlement is imported again.
   */
  inactiveReason?: ErrorCode;
  /** Retained versions other than the active one. */
  retained: string[];
  /** Bytes of every retained version's bundle content. */
  size: number;
}

/** `info`: the summary plus the active version's permissions and the app's recent history. */
export interface AppInfo extends AppSummary {
  dataSize: number;
  capabilities: string[];
  abilities: string[];
  exports: { ability: string; permission: string }[];
  lastDiff?: PermissionDiff;
  installedAt: string;
  updatedAt: string;
  history: AuditEntry[];
  /** What the active version depends on (name and SemVer range). */
  dependencies: { name: string; versionConstraint: string }[];
  /** Absolute paths of the active version's files and of its data. */
  path: string;
  dataPath: string;
  /** With `files`: the active version's files (bundle-relative) as the registry holds them. */
  files?: { path: string; size: number; sha256: string }[];
}

/** `init`: the root, whether this call created it, and how many publishers it trusts. */
export interface InitResult {
  root: string;
  created: boolean;
  publishers: number;
}

/** `inspect`: like verify, but a verification failure is data, not an error. */
export interface InspectReport {
  /** The bundle as the request named it. */
  path: string;
  verified: boolean;
  /** The stable code verification failed with (absent when verified). */
  code?: string;
  message?: string;
  /** The bundle as far as it could be read (in audit-only mode when verification failed). */
  bundle?: VerifiedBundle;
  /** When not even that could be read: the name and version its manifest claims (unverified). */
  claimed?: { name: string; version: string };
}

/** Stable doctor finding kinds (docs/transactions.md#doctor lists what each means and repairs). */
export type FindingKind =
  // Registry against tree.
  | "staging-leftover"
  | "temp-leftover"
  | "app-dir-missing"
  | "current-mismatch"
  | "version-missing"
  | "file-missing"
  | "file-unexpected"
  | "file-digest-mismatch"
  | "data-missing"
  | "version-orphan"
  | "data-orphan"
  | "app-orphan"
  // Unsafe or undefined entries of the layout.
  | "unsafe-link"
  | "special-file"
  | "unsafe-mode"
  | "foreign-owner"
  | "hard-link"
  | "stray-entry"
  // A lost registry.
  | "registry-missing"
  | "version-unverified";

export interface Finding {
  kind: FindingKind;
  app?: string;
  path: string;
  message: string;
  repairable: boolean;
  /** The stable error code behind the finding (a verification failure, `registry.missing`). */
  code?: ErrorCode;
  /** Set on the entries of `repaired`: what `--repair` did. */
  action?: string;
  /** The version the finding is about (of `app`), when it is about one. */
  version?: string;
  /** The next step, naming the exact command where there is one. */
  hint?: string;
  /** Why `--repair` left this finding although it is repairable. */
  refused?: string;
}

/** `doctor`: also the `details.report` of a `doctor.findings` failure. */
export interface DoctorReport {
  ok: boolean;
  apps: number;
  files: number;
  recovered?: string;
  findings: Finding[];
  repaired: Finding[];
}
