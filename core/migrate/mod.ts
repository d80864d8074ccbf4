/**
 * Migrations: running the chain that core/plan/migration_chain.ts selects, in a
 * sandbox on a staging copy of the app's data ({@link runMigrations}), and stopping a step that
 * a crashed nx left running ({@link stopRecordedMigration}).
 */
export {
  DEFAULT_GRACE_MS,
  DEFAULT_MAX_ADDRESS_SPACE_MB,
  DEFAULT_MAX_DATA_MB,
  DEFAULT_MAX_FILE_MB,
  DEFAULT_MAX_OLD_SPACE_MB,
  type MigrationEvent,
  type MigrationLimits,
  type MigrationQuota,
  type MigrationRunOptions,
  OUTPUT_CAP_BYTES,
  runMigrations,
  STDERR_TAIL_BYTES,
  stepArgs,
} from "./sandbox.ts";
export { type StopOptions, stopRecordedMigration } from "./_record.ts";
// A launched program is stopped as a migration step is (core/pkgr/launch_exec.ts).
export { signalGroup } from "./_child.ts";
