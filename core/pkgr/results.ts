/** Result values of the lifecycle operations (plain data: the CLI and the agent serialise them). */
import type { Plan, PostStep, Step } from "../plan/mod.ts";
import type { AppRecord, AppSummaryRow, AuditEntry, PermissionDiff } from "../registry/mod.ts";

export interface OpResult {
  op: Plan["op"];
  appId: string;
  fromVersion: string | null;
  toVersion: string | null;
  dryRun: boolean;
  steps: Step[];
  post: PostStep[];
  diff?: PermissionDiff;
  warnings: { code: string; message: string }[];
}

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

export interface AppSummary {
  id: string;
  version: string;
  state: AppRecord["state"];
  publisher: string;
  bundleType: string;
  sku?: string;
  retained: string[];
  size: number;
}

export interface AppInfo extends AppSummary {
  dataSize: number;
  capabilities: string[];
  abilities: string[];
  exports: { ability: string; permission: string }[];
  lastDiff?: PermissionDiff;
  installedAt: string;
  updatedAt: string;
  history: AuditEntry[];
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
