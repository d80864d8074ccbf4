export {
  appBytesBesideData,
  type ApplyEnv,
  migrationRecordPath,
  type MigrationRunner,
} from "./env.ts";
export { type ApplyOutcome, applyPlan } from "./executor.ts";
export type { StagedVerifier } from "./env.ts";
export { type Faults, NO_FAULTS, parseFaults } from "./faults.ts";
export { readJournal } from "./journal.ts";
export { recover, type Recovery } from "./recover.ts";
