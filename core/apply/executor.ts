/**
 * Runs a plan as one transaction: journal entry durable before each step; on failure the begun
 * steps are undone in reverse; after the commit mark only post-commit steps remain.
 */
import { NxError } from "../errors.ts";
import { throwIfCancelled } from "../api/failure.ts";
import type { Plan } from "../plan/mod.ts";
import { removeTree, stagingPaths } from "../store/mod.ts";
import type { ApplyEnv } from "./env.ts";
import { trigger } from "./faults.ts";
import { Journal, type JournalState } from "./journal.ts";
import { runPostStep } from "./post.ts";
import { doStep, undoStep } from "./steps.ts";

export interface ApplyOutcome {
  warnings: { code: string; message: string }[];
}

/**
 * Undoes begun steps in reverse order, then removes the transaction's staging area. Every undo is
 * attempted even when one fails (each is idempotent and only puts back its own paths), so as much
 * as possible is restored; the staging area is then kept, as it may hold what could not be moved
 * back. An incomplete undo is `journal.corrupt`: the journal cannot be carried out, it stays for
 * the next command to retry, and `doctor --repair` moves it aside and repairs the leftovers.
 */
export async function undoBegun(plan: Plan, begun: number[], env: ApplyEnv): Promise<void> {
  const failed: { step: string; error: unknown }[] = [];
  for (const i of [...begun].sort((a, b) => b - a)) {
    try {
      await undoStep(plan.steps[i], plan, env);
    } catch (error) {
      failed.push({ step: plan.steps[i].kind, error });
    }
  }
  if (failed.length === 0) {
    try {
      await removeTree(stagingPaths(env.paths, plan.txid).dir);
    } catch (error) {
      failed.push({ step: "remove staging", error });
    }
  }
  if (failed.length > 0) throw undoIncomplete(plan, failed);
}

function undoIncomplete(plan: Plan, failed: { step: string; error: unknown }[]): NxError {
  const first = failed[0].error;
  const reason = first instanceof Error ? first.message : String(first);
  return new NxError(
    "journal.corrupt",
    `cannot undo transaction ${plan.txid} (${plan.op} of ${plan.appId}): ${
      failed[0].step
    } failed: ${reason}`,
    {
      cause: first,
      details: {
        txid: plan.txid,
        failed: failed.map((f) => f.step),
        cause: first instanceof NxError ? first.code : "io.failed",
      },
      hint: "`nx pkg doctor --repair` moves the journal aside, then repairs what the undo left",
    },
  );
}

/** Post-commit steps not yet done; failures become warnings (the transaction stands). */
export async function finishPost(
  plan: Plan,
  state: Pick<JournalState, "postDone">,
  env: ApplyEnv,
  journal?: Journal,
) {
  const warnings: ApplyOutcome["warnings"] = [];
  for (const [i, step] of plan.post.entries()) {
    if (state.postDone.includes(i)) continue;
    try {
      await trigger(env.faults, "before", `post:${step.kind}`);
      await runPostStep(step, plan, env);
      await journal?.append({ post: i });
    } catch (e) {
      const message = `post-commit ${step.kind} failed: ${
        e instanceof Error ? e.message : String(e)
      }`;
      warnings.push({ code: e instanceof NxError ? e.code : "io.failed", message });
    }
  }
  return warnings;
}

export async function applyPlan(plan: Plan, env: ApplyEnv): Promise<ApplyOutcome> {
  const journal = await Journal.create(env.paths.journal, plan);
  const begun: number[] = [];
  try {
    for (const [i, step] of plan.steps.entries()) {
      throwIfCancelled(env.signal);
      await trigger(env.faults, "before", step.kind);
      await journal.append({ begin: i });
      begun.push(i);
      await doStep(step, plan, env);
      await journal.append({ done: i });
      await trigger(env.faults, "after", step.kind);
    }
    await journal.append({ committed: true });
  } catch (e) {
    try {
      await undoBegun(plan, begun, env);
      await journal.finish();
    } catch (undoError) {
      // The journal stays: the next nx command on this root finishes the undo.
      journal.close();
      throw new NxError(
        e instanceof NxError ? e.code : "io.failed",
        `${(e as Error).message} (undo incomplete: ${
          (undoError as Error).message
        }; the next nx command retries it)`,
        { cause: e },
      );
    }
    throw e;
  }
  await trigger(env.faults, "before", "commit");
  const warnings = await finishPost(plan, { postDone: [] }, env, journal);
  await journal.finish();
  return { warnings };
}
