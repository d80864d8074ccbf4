export type { Operation, Plan, PostStep, Step, StepKind } from "./types.ts";
export { POST_KINDS, STEP_KINDS } from "./types.ts";
export type { Snapshot } from "./snapshot.ts";
export { type InstallPlanInput, planInstall } from "./install.ts";
export {
  planRollback,
  planUninstall,
  type RollbackPlanInput,
  type UninstallPlanInput,
} from "./lifecycle.ts";
export {
  type ClearDataPlanInput,
  type Damage,
  isIntact,
  planClearData,
  planRestore,
  type RestorePlanInput,
} from "./maintain.ts";
export { closest, editDistance, notInstalled } from "./closest.ts";
export { migrationChain } from "./migration_chain.ts";
export { activate, permissionDiff, versionRecord } from "./records.ts";
export { preflight, SYSTEM_TYPES } from "./preflight.ts";
