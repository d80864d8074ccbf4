/**
 * Migrations: running the chain that core/plan/migration_chain.ts selects, in a
 * sandbox on a staging copy of the app's data ({@link runMigrations}).
 */
export {
  DEFAULT_GRACE_MS,
  DEFAULT_MAX_OLD_SPACE_MB,
  type MigrationEvent,
  type MigrationLimits,
  OUTPUT_CAP_BYTES,
  runMigrations,
  STDERR_TAIL_BYTES,
  stepArgs,
} from "./sandbox.ts";
