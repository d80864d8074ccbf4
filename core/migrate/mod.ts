/**
 * Migrations: which steps an upgrade runs ({@link migrationChain}, pure) and running them in a
 * sandbox on a staging copy of the app's data ({@link runMigrations}).
 */
export { migrationChain } from "./chain.ts";
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
