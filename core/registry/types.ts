/**
 * The registry's data model (plain serialisable values). The registry (`pkg/registry.db`,
 * libSQL) is the source of truth for queries: the ability guard and the Apps settings page.
 */
import type { ManifestView } from "../bundle/mod.ts";

export type AppState = "active" | "inactive" | "pending";

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

/** What `list` shows of an app: no file lists or manifests (cheap for thousands of apps). */
export interface AppSummaryRow {
  id: string;
  version: string;
  state: AppState;
  publisher: string;
  bundleType: string;
  sku?: string;
  /** Retained versions, newest activation first (the active one included). */
  versions: string[];
  /** Bytes of all retained versions' bundle content. */
  size: number;
}

export interface AuditEntry {
  /** Monotonic id assigned by the registry. */
  seq?: number;
  time: string;
  op: "install" | "upgrade" | "rollback" | "uninstall" | "recover" | "repair";
  appId: string;
  fromVersion?: string;
  toVersion?: string;
  /** "ok" or a stable error code. */
  result: string;
  details?: Record<string, unknown>;
}

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
}
