/** What executing a plan needs: the root, the registry, runners and hooks, all injected. */
import { join } from "node:path";
import type { Reporter } from "../api/mod.ts";
import type { MigrationStep } from "../bundle/mod.ts";
import type { Plan } from "../plan/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { RootPaths } from "../store/mod.ts";
import type { Faults } from "./faults.ts";

/** Runs `chain` on the staged data of `plan`'s transaction (see core/migrate). */
export type MigrationRunner = (
  chain: MigrationStep[],
  bundleDir: string,
  dataDir: string,
  plan: Plan,
) => Promise<void>;

/**
 * Verifies the staged copy of `version` (a reinstall's or repair's `verify-staged` step) as
 * `nx pkg verify` does under the root's trust, bound to the plan's app, version and publisher.
 */
export type StagedVerifier = (dir: string, version: string, plan: Plan) => Promise<void>;

export interface ApplyEnv {
  paths: RootPaths;
  registry: Registry;
  reporter: Reporter;
  faults: Faults;
  runMigrations: MigrationRunner;
  /** Needed by plans with a `verify-staged` step (the service supplies it; undo needs none). */
  verifyStaged?: StagedVerifier;
  /** The caller's cancellation: checked before each step (the begun ones are then undone). */
  signal?: AbortSignal;
}

/**
 * Where a transaction's running migration step is recorded (pid, process group, start time):
 * beside its staging data, outside the step's grant. Recovery stops that process first.
 */
export function migrationRecordPath(paths: RootPaths, txid: string): string {
  return join(paths.staging, txid, "migration-process.json");
}

/**
 * The app's bytes beside its data while the transaction runs, as preflight counts them: every
 * retained version plus the new bundle. The migrated data plus the data it came from must fit
 * in the quota with them.
 */
export function appBytesBesideData(plan: Plan): number {
  const retained = plan.before?.versions.reduce((n, v) => n + v.size, 0) ?? 0;
  return retained + (plan.after?.versions[0]?.size ?? 0);
}
