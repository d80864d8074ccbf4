/**
 * AppRecord / AuditEntry ↔ table rows. Writing builds the statements of one transaction;
 * reading checks each column's type and JSON, and calls a malformed row `registry.corrupt`.
 */
import type { InStatement, Row } from "@libsql/client/sqlite3";
import { NxError } from "../errors.ts";
import { APP_STATES, AUDIT_OPS, SCHEMES } from "../api/vocabulary.ts";
import type {
  AppRecord,
  AppSummaryRow,
  AuditEntry,
  KeptDataRecord,
  PermissionDiff,
  QueryHit,
  VersionRecord,
} from "./types.ts";

/** The tables that hold rows of one app, children first. */
const APP_OWNED = ["abilities", "capabilities", "exports", "versions"] as const;

function malformed(table: string, column: string, why: string): NxError {
  return new NxError(
    "registry.corrupt",
    `cannot read registry: ${table}.${column} ${why}`,
    { details: { table, column } },
  );
}

function text(row: Row, table: string, column: string): string {
  const v = row[column];
  if (typeof v !== "string") throw malformed(table, column, "is not text");
  return v;
}

function optText(row: Row, table: string, column: string): string | undefined {
  return row[column] === null ? undefined : text(row, table, column);
}

function int(row: Row, table: string, column: string): number {
  const v = row[column];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) {
    throw malformed(table, column, "is not an integer");
  }
  return v;
}

function oneOf<T extends string>(
  row: Row,
  table: string,
  column: string,
  allowed: readonly string[],
): T {
  const v = text(row, table, column);
  if (!allowed.includes(v)) throw malformed(table, column, `holds unknown value \`${v}\``);
  return v as T;
}

function json<T>(row: Row, table: string, column: string, shape: "object" | "array"): T {
  let v: unknown;
  try {
    v = JSON.parse(text(row, table, column));
  } catch (e) {
    if (e instanceof NxError) throw e;
    throw malformed(table, column, "is not valid JSON");
  }
  const ok = shape === "array" ? Array.isArray(v) : v !== null && typeof v === "object";
  if (!ok) throw malformed(table, column, `is not a JSON ${shape}`);
  return v as T;
}

function optJson<T>(row: Row, table: string, column: string): T | undefined {
  return row[column] === null ? undefined : json<T>(row, table, column, "object");
}

/** Checks the AppRecord invariants the tables rely on; a violation is a caller bug. */
export function checkRecord(app: AppRecord): void {
  const fail = (why: string) =>
    new NxError("internal.unexpected", `cannot register ${app.id}: ${why}`, {
      details: { appId: app.id },
    });
  if (app.id.length === 0) throw fail("the app id is empty");
  const seen = new Set<string>();
  for (const v of app.versions) {
    if (seen.has(v.version)) throw fail(`version ${v.version} is listed twice`);
    seen.add(v.version);
  }
  if (!seen.has(app.version)) throw fail(`the current version ${app.version} is not retained`);
}

/** Deletes every row of `appId` in the app tables (not the audit log). */
export function deleteStatements(appId: string): InStatement[] {
  return [...APP_OWNED, "apps"].map((table) => ({
    sql: `DELETE FROM ${table} WHERE ${table === "apps" ? "id" : "app_id"} = ?`,
    args: [appId],
  }));
}

/**
 * Records who the app's data belongs to, from its apps row (run before {@link deleteStatements});
 * without an apps row it changes nothing, so an earlier record stays.
 */
export function keepDataStatement(appId: string): InStatement {
  return {
    sql: `INSERT INTO kept_data (app_id, publisher, version)
      SELECT id, publisher, version FROM apps WHERE id = ?
      ON CONFLICT (app_id) DO UPDATE SET publisher = excluded.publisher, version = excluded.version`,
    args: [appId],
  };
}

/** Forgets the kept-data record of `appId` (a registered app owns its data through its apps row). */
export function forgetKeptDataStatement(appId: string): InStatement {
  return { sql: "DELETE FROM kept_data WHERE app_id = ?", args: [appId] };
}

export function keptDataFromRow(row: Row): KeptDataRecord {
  const t = "kept_data";
  return {
    appId: text(row, t, "app_id"),
    publisher: text(row, t, "publisher"),
    version: text(row, t, "version"),
  };
}

/** Inserts `app` and all its versions' rows (after {@link deleteStatements}). */
export function insertStatements(app: AppRecord): InStatement[] {
  const out: InStatement[] = [{
    sql: `INSERT INTO apps (id, version, state, publisher, bundle_type, sku, last_diff,
      installed_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [
      app.id,
      app.version,
      app.state,
      app.publisher,
      app.bundleType,
      app.sku ?? null,
      app.lastDiff === undefined ? null : JSON.stringify(app.lastDiff),
      app.installedAt,
      app.updatedAt,
    ],
  }];
  app.versions.forEach((v, ord) => {
    const key = [app.id, v.version];
    out.push({
      sql: `INSERT INTO versions (app_id, version, ord, size, files, manifest, scheme,
        installed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        ...key,
        ord,
        v.size,
        JSON.stringify(v.files),
        JSON.stringify(v.manifest),
        v.scheme,
        v.installedAt,
      ],
    });
    // OR IGNORE: a manifest may repeat an entry; the tables hold each once.
    for (const a of v.manifest.abilities) {
      out.push({
        sql: "INSERT OR IGNORE INTO abilities (app_id, version, ability) VALUES (?, ?, ?)",
        args: [...key, a],
      });
    }
    for (const c of v.manifest.capabilities) {
      out.push({
        sql: "INSERT OR IGNORE INTO capabilities (app_id, version, capability) VALUES (?, ?, ?)",
        args: [...key, c],
      });
    }
    for (const e of v.manifest.exports) {
      out.push({
        sql: `INSERT OR IGNORE INTO exports (app_id, version, ability, permission)
          VALUES (?, ?, ?, ?)`,
        args: [...key, e.ability, e.permission],
      });
    }
  });
  return out;
}

export function versionFromRow(row: Row): VersionRecord {
  const t = "versions";
  return {
    version: text(row, t, "version"),
    size: int(row, t, "size"),
    files: json(row, t, "files", "array"),
    manifest: json(row, t, "manifest", "object"),
    scheme: oneOf(row, t, "scheme", SCHEMES),
    installedAt: text(row, t, "installed_at"),
  };
}

/** The columns an apps row shares with every view of it (sku only when set). */
function appHeader(
  row: Row,
): Pick<AppRecord, "id" | "version" | "state" | "publisher" | "bundleType" | "sku"> {
  const t = "apps";
  const sku = optText(row, t, "sku");
  return {
    id: text(row, t, "id"),
    version: text(row, t, "version"),
    state: oneOf(row, t, "state", APP_STATES),
    publisher: text(row, t, "publisher"),
    bundleType: text(row, t, "bundle_type"),
    ...(sku === undefined ? {} : { sku }),
  };
}

export function summaryFromRow(row: Row): AppSummaryRow {
  return {
    ...appHeader(row),
    versions: text(row, "apps", "versions").split(" "),
    size: int(row, "apps", "size"),
  };
}

/** Builds the record from its apps row and its versions rows (already in `ord` order). */
export function appFromRows(row: Row, versionRows: readonly Row[]): AppRecord {
  const t = "apps";
  const lastDiff = optJson<PermissionDiff>(row, t, "last_diff");
  return {
    ...appHeader(row),
    versions: versionRows.map(versionFromRow),
    ...(lastDiff === undefined ? {} : { lastDiff }),
    installedAt: text(row, t, "installed_at"),
    updatedAt: text(row, t, "updated_at"),
  };
}

/** Joins the versions rows (sorted by app_id, ord) to their apps rows (sorted by id). */
export function appsFromRows(appRows: readonly Row[], versionRows: readonly Row[]): AppRecord[] {
  const byApp = new Map<string, Row[]>();
  for (const v of versionRows) {
    const id = text(v, "versions", "app_id");
    const list = byApp.get(id);
    if (list === undefined) byApp.set(id, [v]);
    else list.push(v);
  }
  return appRows.map((a) => appFromRows(a, byApp.get(text(a, "apps", "id")) ?? []));
}

export function hitFromRow(row: Row): QueryHit {
  return {
    appId: text(row, "apps", "id"),
    version: text(row, "apps", "version"),
    state: oneOf(row, "apps", "state", APP_STATES),
    match: text(row, "query", "match"),
    // The registry's own view; the service also asks the entitlement gate (core/pkgr).
    launchable: oneOf(row, "apps", "state", APP_STATES) === "active",
  };
}

/** The columns {@link auditArgs} fills, in order. */
export const AUDIT_COLUMNS = [
  "time",
  "op",
  "app_id",
  "from_version",
  "to_version",
  "result",
  "details",
  "actor_uid",
  "actor_user",
  "nx_version",
] as const;

/** What older nx wrote for "the whole root" instead of no app (schema 3 migrates it to NULL). */
const WHOLE_ROOT = "*";

export function auditArgs(entry: AuditEntry): (string | number | null)[] {
  const appId = entry.appId === undefined || entry.appId === WHOLE_ROOT ? null : entry.appId;
  return [
    entry.time,
    entry.op,
    appId,
    entry.fromVersion ?? null,
    entry.toVersion ?? null,
    entry.result,
    entry.details === undefined ? null : JSON.stringify(entry.details),
    entry.actor?.uid ?? null,
    entry.actor?.user ?? null,
    entry.actor?.nxVersion ?? null,
  ];
}

/** A column a database from before schema 3 lacks reads as unset (a read-only open of it). */
function newer(row: Row, column: string): boolean {
  return row[column] === undefined || row[column] === null;
}

export function auditFromRow(row: Row): AuditEntry {
  const t = "audit";
  const entry: AuditEntry = {
    seq: int(row, t, "seq"),
    time: text(row, t, "time"),
    op: oneOf(row, t, "op", AUDIT_OPS),
    result: text(row, t, "result"),
  };
  const appId = optText(row, t, "app_id");
  if (appId !== undefined && appId !== WHOLE_ROOT) entry.appId = appId;
  if (!newer(row, "nx_version")) {
    entry.actor = {
      uid: newer(row, "actor_uid") ? null : int(row, t, "actor_uid"),
      user: newer(row, "actor_user") ? null : text(row, t, "actor_user"),
      nxVersion: text(row, t, "nx_version"),
    };
  }
  const from = optText(row, t, "from_version");
  if (from !== undefined) entry.fromVersion = from;
  const to = optText(row, t, "to_version");
  if (to !== undefined) entry.toVersion = to;
  const details = optJson<Record<string, unknown>>(row, t, "details");
  if (details !== undefined) entry.details = details;
  return entry;
}
