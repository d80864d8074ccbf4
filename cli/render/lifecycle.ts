/** Human rendering of lifecycle results: plans (dry runs), outcomes, apps, history. */
import type {
  AppInfo,
  AppSummary,
  AuditEntry,
  OpResult,
  PermissionDiff,
  PostStep,
  QueryHit,
  Step,
} from "../../core/api/mod.ts";
import { bytes, escapeText, keyValues, list, table } from "./text.ts";

function describeStep(step: Step | PostStep): string {
  switch (step.kind) {
    case "stage-version":
    case "publish-version":
    case "publish-data":
    case "retire-version":
      return `${step.kind} ${step.version}`;
    case "prepare-data":
      return `prepare-data from ${step.from ?? "(empty)"}`;
    case "run-migrations":
      return `run-migrations ${step.chain.map((s) => `${s.from}→${s.to}`).join(", ")}`;
    case "switch-current":
      return `switch-current ${step.from ?? "(none)"} → ${step.to}`;
    case "detach-app":
      return step.keepData ? "detach-app (keeping data)" : "detach-app";
    case "gc-versions":
      return `gc-versions ${step.versions.join(", ")}`;
    case "warm-icon-cache":
      return `warm-icon-cache ${step.icon}`;
    default:
      return step.kind;
  }
}

export function renderDiff(diff: PermissionDiff | undefined): string {
  if (!diff) return "permissions: unchanged";
  const rows: string[] = [];
  for (const c of diff.added) rows.push(`  + ${escapeText(c)}`);
  for (const c of diff.removed) rows.push(`  - ${escapeText(c)}`);
  for (const e of diff.exportsAdded) rows.push(`  + export ${escapeText(e)}`);
  for (const e of diff.exportsRemoved) rows.push(`  - export ${escapeText(e)}`);
  return rows.length === 0 ? "permissions: unchanged" : `permissions:\n${rows.join("\n")}`;
}

const VERB: Record<OpResult["op"], string> = {
  install: "installed",
  upgrade: "upgraded",
  rollback: "rolled back",
  uninstall: "uninstalled",
};

export function opMessage(r: OpResult): string {
  const versions = r.op === "install"
    ? `${r.toVersion}`
    : r.op === "uninstall"
    ? `${r.fromVersion}`
    : `${r.fromVersion} → ${r.toVersion}`;
  return `${r.dryRun ? `would have ${VERB[r.op]}` : VERB[r.op]} ${r.appId} ${versions}`;
}

export function renderOp(r: OpResult): string {
  const lines = [escapeText(opMessage(r))];
  if (r.dryRun) {
    lines.push("plan:", ...r.steps.map((s, i) => `  ${i + 1}. ${escapeText(describeStep(s))}`));
    lines.push("after commit:", ...r.post.map((s) => `  - ${escapeText(describeStep(s))}`));
  }
  if (r.op !== "uninstall") lines.push(renderDiff(r.diff));
  return lines.join("\n");
}

export function renderApps(apps: AppSummary[]): string {
  if (apps.length === 0) return "no apps installed";
  return table(
    ["app", "version", "state", "type", "retained", "size"],
    apps.map((a) => [a.id, a.version, a.state, a.bundleType, list(a.retained), bytes(a.size)]),
  );
}

export function renderInfo(a: AppInfo): string {
  return [
    keyValues([
      ["app", a.id],
      ["version", a.version],
      ["state", a.state],
      ["type", a.bundleType],
      ["publisher", a.publisher],
      ["sku", a.sku],
      ["size on disk", bytes(a.size)],
      ["data size", bytes(a.dataSize)],
      ["retained", list(a.retained)],
      ["abilities", list(a.abilities)],
      ["capabilities", list(a.capabilities)],
      ["exports", list(a.exports.map((e) => `${e.ability} → ${e.permission}`))],
      ["installed", a.installedAt],
      ["updated", a.updatedAt],
    ]),
    a.lastDiff
      ? `${escapeText(`last change ${a.lastDiff.from ?? "(new)"} → ${a.lastDiff.to}`)}, ${
        renderDiff(a.lastDiff)
      }`
      : "",
    "history:",
    renderHistory(a.history),
  ].filter((s) => s !== "").join("\n");
}

export function renderHistory(entries: AuditEntry[]): string {
  if (entries.length === 0) return "  (none)";
  return table(
    ["time", "op", "app", "from", "to", "result"],
    entries.map((
      e,
    ) => [e.time, e.op, e.appId ?? "-", e.fromVersion ?? "-", e.toVersion ?? "-", e.result]),
  );
}

export function renderHits(hits: QueryHit[]): string {
  if (hits.length === 0) return "no match";
  return table(
    ["app", "version", "state", "match"],
    hits.map((h) => [h.appId, h.version, h.state, h.match]),
  );
}
