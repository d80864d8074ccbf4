/**
 * Crash recovery, run by the next nx command on the root before anything else: a migration step
 * the crashed command left running is stopped first; then a journal that reached its commit mark
 * is finished (post-commit steps); any other is undone. The result is exactly the old or exactly
 * the new state, in the tree and the registry alike.
 */
import { stopRecordedMigration } from "../migrate/mod.ts";
import { exists } from "../store/mod.ts";
import { type ApplyEnv, migrationRecordPath } from "./env.ts";
import { finishPost, undoBegun } from "./executor.ts";
import { readJournal, removeJournal } from "./journal.ts";

export interface Recovery {
  txid: string;
  op: string;
  appId: string;
  outcome: "rolled-back" | "completed";
  fromVersion: string | null;
  toVersion: string | null;
  /** Post-commit steps that failed while finishing a committed transaction. */
  warnings: { code: string; message: string }[];
}

export async function recover(env: ApplyEnv): Promise<Recovery | undefined> {
  if (!(await exists(env.paths.journal))) return undefined;
  const state = await readJournal(env.paths.journal);
  if (!state) {
    await removeJournal(env.paths.journal); // torn header: no step ever began
    return undefined;
  }
  const { plan } = state;
  // Before staging is touched: a step still writing there would race the undo
  // (`migration.still_running` when it cannot be stopped; the journal stays).
  await stopRecordedMigration(migrationRecordPath(env.paths, plan.txid));
  const warnings = state.committed ? await finishPost(plan, state, env) : [];
  if (!state.committed) await undoBegun(plan, state.begun, env);
  await removeJournal(env.paths.journal);
  return {
    txid: plan.txid,
    op: plan.op,
    appId: plan.appId,
    outcome: state.committed ? "completed" : "rolled-back",
    fromVersion: plan.fromVersion,
    toVersion: plan.toVersion,
    warnings,
  };
}
