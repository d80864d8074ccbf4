/** Building the contract's result values (core/api/results.ts) from plans and registry rows. */
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
  };
}

export function summary(app: AppSummaryRow, pending: boolean): AppSummary {
  return {
    id: app.id,
    version: app.version,
    state: pending ? "pending" : app.state,
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
