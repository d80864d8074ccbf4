/**
 * The domain records of the contract: what the registry holds, what a plan is made of, what the
 * audit log says. Plain serialisable values (no Date, no Map, no class): a record crosses a wire
 * as the JSON of itself. Types only; their schemas are in record_schemas.ts.
 *
 * The registry (core/registry) stores these, the planner (core/plan) computes them, the service
 * (core/pkgr) returns them inside its results; none of those folders defines them.
 */
import type { ManifestView, MigrationStep } from "../bundle/mod.ts";

export type AppState = "active" | "inactive" | "pending";

/** The operations that change an app (a plan's `op`). */
export type Operation =
  | "install"
  | "upgrade"
  | "rollback"
  | "uninstall"
  /** `install --reinstall`: the active version's files again, from its bundle. */
  | "reinstall"
  /** `repair`: the active version's files again, from the copy nx keeps of it. */
  | "repair"
  /** `clear-data`: the app's data removed (recreated empty while it stays installed). */
  | "clear-data";

/** Pre-commit steps of a plan; the executor pairs each with its undo (docs/transactions.md). */
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
  | { kind: "detach-app"; keepData: boolean }
  /** reinstall/repair: verify the staged copy as `nx pkg verify` does | undo: nothing */
  | { kind: "verify-staged"; version: string }
  /** reinstall/repair: move versions/<v> (not its data) aside into staging | undo: move it back */
  | { kind: "retire-files"; version: string }
  /** clear-data: move apps/<id>/data aside into staging | undo: move it back */
  | { kind: "detach-data" }
  /** clear-data: create data/ with an empty data/<v> per version | undo: remove what it made */
  | { kind: "create-data"; versions: string[] };

export type StepKind = Step["kind"];

/** After the commit point: idempotent, never undone; failures are warnings. */
export type PostStep =
  | { kind: "gc-versions"; versions: string[] }
  | { kind: "warm-icon-cache"; version: string; icon: string }
  | { kind: "drop-icon-cache" }
  /** Registry notification: rewrite pkg/registry.stamp, which watchers (the Apps page) follow. */
  | { kind: "notify-registry" }
  | { kind: "purge-staging" };

/** One retained (installed) version of an app. */
export interface VersionRecord {
  version: string;
  /** Bundle content size on disk, bytes. */
  size: number;
  /** Bundle-relative files with size and SHA-256 (what `doctor` re-checks). */
  files: { path: string; size: number; sha256: string }[];
  manifest: ManifestView;
  scheme: "nx-index" | "payload-only";
  installedAt: string;
}

export interface PermissionDiff {
  from: string | null;
  to: string;
  added: string[];
  removed: string[];
  exportsAdded: string[];
  exportsRemoved: string[];
}

/** What the registry holds for one installed app. */
export interface AppRecord {
  id: string;
  /** The active version (what `current` links to). */
  version: string;
  state: AppState;
  publisher: string;
  bundleType: string;
  sku?: string;
  /** Every retained version, newest first; includes the active one. */
  versions: VersionRecord[];
  /** The permission diff of the last install/upgrade/rollback. */
  lastDiff?: PermissionDiff;
  installedAt: string;
  updatedAt: string;
}

/**
 * Who the data of an unregistered app belongs to: the publisher (and active version) of the
 * record `unregister()` removed. What `uninstall --keep-data` leaves under apps/<id>/data is
 * theirs; another publisher's bundle of the same id must not adopt it.
 */
export interface KeptDataRecord {
  appId: string;
  publisher: string;
  /** The version that was active when the app was unregistered. */
  version: string;
}

/**
 * What the audit log records: the app operations, recovery, doctor's repair of the root, and
 * changes of the root itself (`init`) and of its trust.
 */
export type AuditOp =
  | Operation
  | "recover"
  | "repair"
  | "init"
  | "trust-add"
  | "trust-remove"
  | "policy-set"
  | "licensed-import"
  | "licensed-trust-add"
  | "licensed-trust-remove";

/** Who made an audited change: the process's uid and user name, and the nx that wrote it. */
export interface AuditActor {
  uid: number | null;
  user: string | null;
  nxVersion: string;
}

export interface AuditEntry {
  /** The entry's id: assigned by the registry, increasing, never reused (`history --id`). */
  seq?: number;
  time: string;
  op: AuditOp;
  /** The app it acted on; absent when there was none (a refused install of a path that is not
   * a bundle, a trust or policy change, a repair of the whole root). */
  appId?: string;
  fromVersion?: string;
  toVersion?: string;
  /** "ok" or a stable error code. */
  result: string;
  /** Set by the registry when the entry is written; absent in entries from before schema 3. */
  actor?: AuditActor;
  details?: Record<string, unknown>;
}

/** The ability guard's question: exactly one of ability, capability, export. */
export type RegistryQuery =
  | { ability: string }
  | { capability: string }
  | { export: string };

export interface QueryHit {
  appId: string;
  version: string;
  state: AppState;
  /** The matching ability, capability or export permission. */
  match: string;
  /** Whether the ability guard may start it now: active and (a paid app) entitled. */
  launchable: boolean;
}
