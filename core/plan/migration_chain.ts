/**
 * Which migration steps an upgrade runs, and in what order. Pure: no I/O.
 */
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { compareVersions, isStrictSemver } from "../version/mod.ts";

/**
 * Steps to run from `installed` to `target`: every step with installed < to ≤ target, ordered by
 * `to` (then `from`, then `script`, so the order never depends on the file's order). Steps with
 * to ≤ installed or to > target are skipped. Throws `migration.chain_too_long` when more than
 * `maxSteps` steps remain, `bundle.invalid_migrations` for a step that is not strict SemVer or
 * does not go forward (from ≥ to).
 */
export function migrationChain(
  steps: readonly MigrationStep[],
  installed: string,
  target: string,
  maxSteps: number,
): MigrationStep[] {
  for (const version of [installed, target]) {
    if (!isStrictSemver(version)) {
      throw new NxError(
        "internal.unexpected",
        `cannot plan migrations: ${JSON.stringify(version)} is not a strict SemVer version`,
      );
    }
  }
  for (const step of steps) {
    // migrate: a step must name two strict versions and go forward, or its place in the chain
    // would be meaningless.
    if (
      !isStrictSemver(step.from) || !isStrictSemver(step.to) ||
      compareVersions(step.from, step.to) >= 0
    ) {
      throw new NxError(
        "bundle.invalid_migrations",
        `cannot plan migrations: step ${step.from} → ${step.to} does not go forward`,
        { details: { step } },
      );
    }
  }
  const chain = steps
    .filter((s) => compareVersions(s.to, installed) > 0 && compareVersions(s.to, target) <= 0)
    .sort((a, b) =>
      compareVersions(a.to, b.to) || compareVersions(a.from, b.from) ||
      (a.script < b.script ? -1 : a.script > b.script ? 1 : 0)
    );
  if (chain.length > maxSteps) {
    throw new NxError(
      "migration.chain_too_long",
      `cannot migrate ${installed} → ${target}: ${chain.length} steps, at most ${maxSteps} allowed`,
      { details: { steps: chain.length, maxSteps } },
    );
  }
  return chain;
}
