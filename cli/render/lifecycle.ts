/** Human rendering of lifecycle results: plans (dry runs), outcomes, apps, history. */
import type {
  AppInfo,
  AppSummary,
  AuditEntry,
  OpResult,
  PathChange,
  PermissionDiff,
  PostStep,
  QueryHit,
  RestoreReport,
  Step,
} from "../../core/api/mod.ts";
import { renderFiles } from "./bundle.ts";
import { bytes, escapeText, keyValues, list, none, table } from "./text.ts";

function describeStep(step: Step | PostStep): string {
  switch (step.kind) {
    case "stage-version":
    case "publish-version":
    case "publish-data":
    case "retire-version":
    case "verify-staged":
    case "retire-files":
      return `${step.kind} ${step.version}`;
    case "create-data":
      return `create-data (empty) ${step.versions.join(", ")}`;
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
  reinstall: "reinstalled",
  repair: "repaired",
  "clear-data": "cleared the data of",
};

/** -1, 0, 1 by the numeric x.y.z core of two versions (enough to tell back from forward). */
function coreOrder(a: string, b: string): number {
  const core = (v: string) => (/^(\d+)\.(\d+)\.(\d+)/.exec(v) ?? []).slice(1).map(Number);
  const [x, y] = [core(a), core(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  return 0;
}

/** The verb of a result: a rollback to a greater version goes forward and says so. */
function verbOf(r: OpResult): string {
  if (r.op === "rollback" && r.fromVersion !== null && r.toVersion !== null) {
    const order = coreOrder(r.toVersion, r.fromVersion);
    if (order > 0) return "rolled forward";
    if (order === 0) return "switched";
  }
  return VERB[r.op];
}

export function opMessage(r: OpResult): string {
  if (r.op === "repair" && r.steps.length === 0) {
    return `${r.appId} ${r.fromVersion} is intact: nothing to repair`;
  }
  const versions = r.op === "install"
    ? `${r.toVersion}`
    : r.fromVersion === null
    ? "(kept data)"
    : r.fromVersion === r.toVersion || r.toVersion === null
    ? `${r.fromVersion}`
    : `${r.fromVersion} → ${r.toVersion}`;
  const verb = verbOf(r);
  return `${r.dryRun ? `would have ${verb}` : verb} ${r.appId} ${versions}`;
}

function renderPaths(r: OpResult, paths: PathChange[]): string[] {
  const group = (action: PathChange["action"], done: string, todo: string) => {
    const rows = paths.filter((p) => p.action === action);
    if (rows.length === 0) return [];
    const table_ = table(["path", "size"], rows.map((p) => [p.path, bytes(p.size)]));
    return [`${r.dryRun ? todo : done}:`, ...table_.split("\n").slice(1).map((l) => `  ${l}`)];
  };
  const lines = [...group("remove", "removed", "removes"), ...group("keep", "kept", "keeps")];
  if (paths.length === 0) lines.push(`data: ${none("data on disk")}`);
  if (r.op === "uninstall" && paths.some((p) => p.action === "keep")) {
    lines.push(
      `the data stays for a later install of ${r.appId}; \`nx pkg clear-data ${r.appId}\` deletes it`,
    );
  }
  return lines.map(escapeText);
}

function renderRestored(r: OpResult, x: RestoreReport): string[] {
  if (r.steps.length === 0) return [];
  const from = x.source === "bundle" ? "the bundle" : "the copy nx keeps";
  const rows = [
    ...x.changed.map((p) => ["changed", p]),
    ...x.missing.map((p) => ["missing", p]),
    ...x.unexpected.map((p) => ["unexpected", p]),
  ];
  const head = rows.length === 0
    ? `every file matched its record; ${r.dryRun ? "would restage" : "restaged"} from ${from}`
    : `${
      r.dryRun ? "would restore" : "restored"
    } from ${from}: ${x.changed.length} changed, ${x.missing.length} missing, ${x.unexpected.length} unexpected (removed)`;
  return [escapeText(head), ...rows.map(([k, p]) => `  ${k.padEnd(10)}  ${escapeText(p)}`)];
}

/** The migration chain of an install or upgrade: said whether it ran or would run. */
function renderMigrations(r: OpResult): string[] {
  const run = r.steps.find((s) => s.kind === "run-migrations");
  if (!run || run.kind !== "run-migrations") return [];
  const chain = run.chain.map((s) => `${s.from} → ${s.to}`).join(", ");
  return [escapeText(`data migrated${r.dryRun ? " (would be)" : ""}: ${chain}`)];
}

export function renderOp(r: OpResult): string {
  const lines = [escapeText(opMessage(r))];
  if (r.dryRun && r.steps.length > 0) {
    lines.push("plan:", ...r.steps.map((s, i) => `  ${i + 1}. ${escapeText(describeStep(s))}`));
    lines.push("after commit:", ...r.post.map((s) => `  - ${escapeText(describeStep(s))}`));
  }
  lines.push(...renderMigrations(r));
  if (r.restored) lines.push(...renderRestored(r, r.restored));
  if (r.paths) lines.push(...renderPaths(r, r.paths));
  if (r.op === "install" || r.op === "upgrade" || r.op === "rollback") {
    lines.push(renderDiff(r.diff));
  }
  return lines.join("\n");
}

export function renderApps(apps: AppSummary[]): string {
  if (apps.length === 0) return none("apps installed");
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
      ["path", a.path],
      ["data", a.dataPath],
      ["dependencies", list(a.dependencies.map((d) => `${d.name} ${d.versionConstraint}`))],
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
    ...(a.files ? [`files: ${a.files.length}`, renderFiles(a.files)] : []),
    "history:",
    a.history.length === 0 ? `  ${renderHistory(a.history)}` : renderHistory(a.history),
  ].filter((s) => s !== "").join("\n");
}

export function renderHistory(entries: AuditEntry[]): string {
  if (entries.length === 0) return none("history entries");
  return table(
    ["time", "op", "app", "from", "to", "result"],
    entries.map((
      e,
    ) => [e.time, e.op, e.appId ?? "-", e.fromVersion ?? "-", e.toVersion ?? "-", e.result]),
  );
}

export function renderHits(hits: QueryHit[]): string {
  if (hits.length === 0) return none("matching apps");
  return table(
    ["app", "version", "state", "match"],
    hits.map((h) => [h.appId, h.version, h.state, h.match]),
  );
}
