/**
 * The registry (`pkg/registry.db`, libSQL): what is installed, queried by the ability guard and
 * the Apps settings page, plus the append-only audit log.
 *
 * ```ts
 * const registry = await openRegistry(registryUrlForFile(join(root, "pkg/registry.db")));
 * try {
 *   await registry.register(record);
 *   const hits = await registry.query({ ability: "nexus.ability.VIEW" });
 * } finally {
 *   registry.close();
 * }
 * ```
 *
 * Needs `--allow-ffi --allow-env --allow-sys --allow-read --allow-write`.
 */
export { type OpenOptions, openRegistry, type Registry } from "./registry.ts";
export { probeRegistry, type RegistryPresence, registryUrlForFile } from "./_open.ts";
export { REGISTRY_SCHEMA_VERSION } from "./schema.ts";
export type { Ledger, LedgerChange, LedgerRows, LedgerToken } from "./ledger.ts";
export type {
  AppRecord,
  AppState,
  AppSummaryRow,
  AuditEntry,
  KeptDataRecord,
  PermissionDiff,
  QueryHit,
  RegistryQuery,
  VersionRecord,
} from "./types.ts";
