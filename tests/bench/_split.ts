/**
 * Where one in-process lifecycle operation spends its time. For the duration of one call, the
 * step implementations of core/apply/steps.ts (`STEPS[kind].do`) and the journal's methods
 * (`Journal.create`, `append`, `finish`) are wrapped with timers, then restored; the reporter
 * timestamps the `pkgr: verified ok` marker verifyAt() emits. Nothing in core is changed on disk:
 * this only times the real code path from outside.
 *
 * Parts (milliseconds, they add up to the total):
 * - `session+verify`: from the call to the verified marker (lock, root init, registry open,
 *   recovery check, trust load, then reading, hashing and checking the bundle); absent for
 *   operations that verify nothing (rollback);
 * - `journal`: creating it (plan header), every fsynced append, and removing it;
 * - `step:<kind>`: each pre-commit step's `do`;
 * - `rest`: everything else (snapshot and plan, post-commit steps, the audit entry, session
 *   close).
 */
import { Journal } from "../../core/apply/journal.ts";
import { STEPS } from "../../core/apply/steps.ts";
import type { ProgressEvent, Reporter } from "../../core/pkgr/context.ts";

export interface Split {
  total: number;
  parts: Record<string, number>;
}

type AnyFn = (...args: unknown[]) => unknown;

/** Runs `op` once with timers around the steps and the journal; returns the split. */
export async function splitOp(op: (reporter: Reporter) => Promise<unknown>): Promise<Split> {
  const parts: Record<string, number> = {};
  let depth = 0;
  const restore: (() => void)[] = [];
  const wrap = (owner: Record<string, unknown>, key: string, bucket: string) => {
    const original = owner[key] as AnyFn;
    owner[key] = async function (this: unknown, ...args: unknown[]) {
      // A wrapped call inside another (Journal.create appends the header) counts once, outside.
      if (depth > 0) return await original.apply(this, args);
      depth++;
      const start = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        parts[bucket] = (parts[bucket] ?? 0) + performance.now() - start;
        depth--;
      }
    };
    restore.push(() => (owner[key] = original));
  };
  for (const [kind, impl] of Object.entries(STEPS)) {
    wrap(impl as unknown as Record<string, unknown>, "do", `step:${kind}`);
  }
  wrap(Journal as unknown as Record<string, unknown>, "create", "journal");
  wrap(Journal.prototype as unknown as Record<string, unknown>, "append", "journal");
  wrap(Journal.prototype as unknown as Record<string, unknown>, "finish", "journal");

  let verifiedAt: number | undefined;
  const reporter: Reporter = {
    emit(event: ProgressEvent) {
      if (event.kind === "marker" && event.text === "pkgr: verified ok") {
        verifiedAt ??= performance.now();
      }
    },
  };
  const start = performance.now();
  let total: number;
  try {
    await op(reporter);
    total = performance.now() - start;
  } finally {
    for (const r of restore.reverse()) r();
  }
  if (verifiedAt !== undefined) parts["session+verify"] = verifiedAt - start;
  parts.rest = total - Object.values(parts).reduce((a, b) => a + b, 0);
  return { total, parts };
}

/** One list of samples per part over several splits (a part missing in a split counts 0). */
export function partSamples(splits: readonly Split[]): Record<string, number[]> {
  const names = new Set(splits.flatMap((s) => Object.keys(s.parts)));
  return Object.fromEntries(
    [...names].map((n) => [n, splits.map((s) => s.parts[n] ?? 0)]),
  );
}
