/** Building the contract's result values (core/api/results.ts) from plans and registry rows. */
import { type ErrorCode, NxError } from "../errors.ts";
import type { AppRecord, AppSummary, OpResult } from "../api/mod.ts";
import type { Plan } from "../plan/mod.ts";
import type { AppSummaryRow } from "../registry/mod.ts";

export function opResult(
  plan: Plan,
  dryRun: boolean,
  warnings: OpResult["warnings"] = [],
): OpResult {
  return {
    op: plan.op,
    appId: plan.appId,
    fromVersion: plan.fromVersion,
    toVersion: plan.toVersion,
    dryRun,
    steps: plan.steps,
    post: plan.post,
    ...(plan.diff ? { diff: plan.diff } : {}),
    warnings,
    ...(plan.paths ? { paths: plan.paths } : {}),
    ...(plan.restored ? { restored: plan.restored } : {}),
  };
}

/** The last non-empty line of a script's stderr, at most 200 characters. */
function lastLine(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  const line = text.split("\n").map((l) => l.trim()).filter((l) => l !== "").at(-1);
  return line === undefined ? undefined : line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * A failed migration, said in full where a person reads it: the script's own last line of
 * stderr joins the message (the whole tail stays in `details.stderrTail`), and the hint says the
 * transaction was undone, so the app is where it was. Other errors pass through unchanged.
 */
export function migrationFailed(e: unknown, plan: Plan): unknown {
  if (!(e instanceof NxError) || !e.code.startsWith("migration.") || e.hint !== undefined) return e;
  const said = lastLine(e.details?.stderrTail);
  const where = plan.fromVersion === null
    ? `${plan.appId} is not installed (nothing changed; kept data is untouched)`
    : `${plan.appId} is still at ${plan.fromVersion} (nothing changed)`;
  return new NxError(e.code, said === undefined ? e.message : `${e.message}: ${said}`, {
    cause: e,
    details: e.details,
    hint: said === undefined ? where : `${where}; --json has the script's stderr (stderrTail)`,
  });
}

/** `inactive`: the entitlement code that makes a paid app inactive now (licensing). */
export function summary(
  app: AppSummaryRow,
  pending: boolean,
  inactive?: ErrorCode,
): AppSummary {
  return {
    id: app.id,
    version: app.version,
    state: pending ? "pending" : inactive !== undefined ? "inactive" : app.state,
    ...(inactive !== undefined && !pending ? { inactiveReason: inactive } : {}),
    publisher: app.publisher,
    bundleType: app.bundleType,
    ...(app.sku ? { sku: app.sku } : {}),
    retained: app.versions.filter((v) => v !== app.version),
    size: app.size,
  };
}

/** The summary row of a full record (what `info` starts from). */
export function summaryRowOf(app: AppRecord): AppSummaryRow {
  return {
    id: app.id,
    version: app.version,
    state: app.state,
    publisher: app.publisher,
    bundleType: app.bundleType,
    ...(app.sku ? { sku: app.sku } : {}),
    versions: app.versions.map((v) => v.version),
    size: app.versions.reduce((n, v) => n + v.size, 0),
  };
}
