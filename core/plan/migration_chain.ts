/** Which migration steps an upgrade runs. Pure. */
import { NxError } from "../errors.ts";
import type { MigrationStep } from "../bundle/meta.ts";
import { compareVersions } from "../version/mod.ts";

/**
 * Steps with installed < to ≤ target, ordered by `to` then `from` (scripts are idempotent, so a
 * step whose `from` predates the installed version is still safe to run). More than `maxSteps`
 * → migration.chain_too_long.
 */
export function migrationChain(
  steps: readonly MigrationStep[],
  installed: string,
  target: string,
  maxSteps: number,
): MigrationStep[] {
  const chain = steps
    .filter((s) => compareVersions(s.to, installed) > 0 && compareVersions(s.to, target) <= 0)
    .sort((a, b) => compareVersions(a.to, b.to) || compareVersions(a.from, b.from));
  if (chain.length > maxSteps) {
    throw new NxError("migration.chain_too_long", `cannot migrate: ${chain.length} steps exceed the limit of ${maxSteps}`, {
      details: { steps: chain.length, maxSteps },
    });
  }
  return chain;
}
