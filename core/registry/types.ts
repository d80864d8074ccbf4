/**
 * The registry's data model. The registry (`pkg/registry.db`, libSQL) is the source of truth for
 * queries: the ability guard and the Apps settings page. Its records are the contract's domain
 * records (core/api/records.ts); only the row `list` reads is the registry's own.
 */
import type { AppState } from "../api/mod.ts";

export type {
  AppRecord,
  AppState,
  AuditActor,
  AuditEntry,
  KeptDataRecord,
  PermissionDiff,
  QueryHit,
  RegistryQuery,
  VersionRecord,
} from "../api/mod.ts";

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
