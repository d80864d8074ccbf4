/**
 * The closed vocabularies of the domain records (records.ts): operations, app states, index
 * schemes and audit operations, as values. No schema library here, so the registry and the
 * executor can check against them without loading the contract's schemas.
 */
export const OPERATIONS = [
  "install",
  "upgrade",
  "rollback",
  "uninstall",
  "reinstall",
  "repair",
  "clear-data",
] as const;
export const APP_STATES = ["active", "inactive", "pending"] as const;
export const SCHEMES = ["nx-index", "payload-only"] as const;

/** records.ts `AuditOp` (`repair` is also doctor's repair of the root: listed once). */
export const AUDIT_OPS = [
  ...new Set([...OPERATIONS, "recover", "repair"] as const),
  "init",
  "trust-add",
  "trust-remove",
  "policy-set",
  "licensed-import",
  "licensed-trust-add",
  "licensed-trust-remove",
] as const;
