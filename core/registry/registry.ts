/**
 * The libSQL registry: one client on `pkg/registry.db`. Every write is one `batch(…, "write")`
 * (BEGIN IMMEDIATE … COMMIT); every multi-query read is one read transaction, so a reader sees
 * one committed state even while another process writes.
 */
import type { Client } from "@libsql/client/sqlite3";
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { guarded, notARegistry, registryError } from "./_fail.ts";
import {
  checkSupported,
  checkTables,
  configureFile,
  connect,
  fileExists,
  localPathOf,
  migrate,
  readVersion,
} from "./_open.ts";
import { processActor } from "./_actor.ts";
import { type Ledger, ledgerOf } from "./ledger.ts";
import {
  appFromRows,
  appsFromRows,
  AUDIT_COLUMNS,
  auditArgs,
  auditFromRow,
  checkRecord,
  deleteStatements,
  forgetKeptDataStatement,
  hitFromRow,
  insertStatements,
  keepDataStatement,
  keptDataFromRow,
  summaryFromRow,
} from "./_rows.ts";
import { APP_TABLES, migrationsFrom, REGISTRY_SCHEMA_VERSION, tablesAt } from "./schema.ts";
import type {
  AppRecord,
  AppState,
  AppSummaryRow,
  AuditEntry,
  KeptDataRecord,
  QueryHit,
  RegistryQuery,
} from "./types.ts";
import { SUMMARIES_SQL } from "./summaries_sql.ts";

export interface Registry {
  /** Atomically replaces everything the registry holds for app.id (app row, versions, abilities, capabilities, exports) and drops its kept-data record — one write transaction. */
  register(app: AppRecord): Promise<void>;
  /**
   * Removes the app and everything it owns, and records its publisher and active version as the
   * owner of the data it may leave behind (`keptData()`), in one transaction. No-op when absent
   * (an earlier kept-data record then stays).
   */
  unregister(appId: string): Promise<void>;
  /** Who the data of an unregistered app belongs to; undefined when nothing was recorded. */
  keptData(appId: string): Promise<KeptDataRecord | undefined>;
  get(appId: string): Promise<AppRecord | undefined>;
  /** All apps sorted by id, in two queries (apps, versions) whatever the number of apps. */
  list(): Promise<AppRecord[]>;
  /** All apps sorted by id, without files and manifests: one query, for `nx pkg list`. */
  summaries(): Promise<AppSummaryRow[]>;
  /**
   * Ability guard / Apps page queries: the active and inactive apps (not pending ones) whose
   * CURRENT version declares the ability / capability / export permission (exact match),
   * sorted by appId.
   */
  query(q: RegistryQuery): Promise<QueryHit[]>;
  /** Sets the app's state (updatedAt is left as is); `app.not_installed` when absent. */
  setState(appId: string, state: AppState): Promise<void>;
  /**
   * Appends to the audit log (never rewritten); returns the assigned seq, the entry's id
   * (entry.seq is ignored). The entry's actor defaults to this process (uid, user, nx version).
   */
  audit(entry: AuditEntry): Promise<number>;
  /** Audit entries oldest first, optionally for one app, optionally the last `limit`. */
  history(appId?: string, limit?: number): Promise<AuditEntry[]>;
  /** The audit entry with this id (seq), if there is one. */
  auditEntry(seq: number): Promise<AuditEntry | undefined>;
  /** A stable digest (hex SHA-256) of the app tables' contents (apps/versions/abilities/capabilities/exports — NOT the audit log), for tests that assert "byte-for-byte as before". Deterministic ordering. */
  appTablesDigest(): Promise<string>;
  /** The licensing ledger: imported tokens and status changes (ledger.ts). */
  readonly ledger: Ledger;
  /** Releases the database; further calls fail with `registry.failed`. Idempotent. */
  close(): void;
}

export interface OpenOptions {
  /**
   * Never write: writes fail with `registry.failed`, and the schema is not migrated. A file
   * that does not exist (or an empty database) is not created: the registry is then an empty
   * view (list() is [], get() undefined, history() []).
   */
  readOnly?: boolean;
}

const QUERY_COLUMNS = {
  ability: { table: "abilities", column: "ability" },
  capability: { table: "capabilities", column: "capability" },
  export: { table: "exports", column: "permission" },
} as const;

class LibsqlRegistry implements Registry {
  readonly #client: Client;
  readonly #readOnly: boolean;
  /** The schema version of the database (older than current only for a read-only open). */
  readonly #version: number;
  readonly ledger: Ledger;

  constructor(client: Client, readOnly: boolean, version = REGISTRY_SCHEMA_VERSION) {
    this.#client = client;
    this.#readOnly = readOnly;
    this.#version = version;
    this.ledger = ledgerOf(client, version, (action) => this.#writable(action));
  }

  #writable(action: string): void {
    if (this.#readOnly) {
      throw new NxError("registry.failed", `cannot ${action}: the registry is open read-only`);
    }
  }

  async register(app: AppRecord): Promise<void> {
    const action = `register ${app.id}`;
    this.#writable(action);
    checkRecord(app);
    const stmts = [
      forgetKeptDataStatement(app.id),
      ...deleteStatements(app.id),
      ...insertStatements(app),
    ];
    await guarded(action, () => this.#client.batch(stmts, "write"));
  }

  async unregister(appId: string): Promise<void> {
    const action = `unregister ${appId}`;
    this.#writable(action);
    const stmts = [keepDataStatement(appId), ...deleteStatements(appId)];
    await guarded(action, () => this.#client.batch(stmts, "write"));
  }

  keptData(appId: string): Promise<KeptDataRecord | undefined> {
    // A reader of a database from before kept_data existed: nothing was ever recorded.
    if (this.#version < 2) return Promise.resolve(undefined);
    return guarded(`read the kept data of ${appId}`, async () => {
      const rs = await this.#client.execute({
        sql: "SELECT * FROM kept_data WHERE app_id = ?",
        args: [appId],
      });
      const row = rs.rows[0];
      return row === undefined ? undefined : keptDataFromRow(row);
    });
  }

  get(appId: string): Promise<AppRecord | undefined> {
    return guarded(`read ${appId} from the registry`, async () => {
      const [apps, versions] = await this.#client.batch([
        { sql: "SELECT * FROM apps WHERE id = ?", args: [appId] },
        { sql: "SELECT * FROM versions WHERE app_id = ? ORDER BY ord", args: [appId] },
      ], "read");
      const row = apps.rows[0];
      return row === undefined ? undefined : appFromRows(row, versions.rows);
    });
  }

  list(): Promise<AppRecord[]> {
    return guarded("list the registry", async () => {
      const [apps, versions] = await this.#client.batch([
        "SELECT * FROM apps ORDER BY id",
        "SELECT * FROM versions ORDER BY app_id, ord",
      ], "read");
      return appsFromRows(apps.rows, versions.rows);
    });
  }

  summaries(): Promise<AppSummaryRow[]> {
    return guarded("list the registry", async () => {
      const rs = await this.#client.execute(SUMMARIES_SQL);
      return rs.rows.map(summaryFromRow);
    });
  }

  query(q: RegistryQuery): Promise<QueryHit[]> {
    const key = (Object.keys(QUERY_COLUMNS) as (keyof typeof QUERY_COLUMNS)[])
      .find((k) => k in q);
    if (key === undefined) {
      return Promise.reject(
        new NxError("usage.invalid_argument", "cannot query the registry: empty query"),
      );
    }
    const value = (q as Record<string, string>)[key];
    const { table, column } = QUERY_COLUMNS[key];
    return guarded(`query the registry for ${key} ${value}`, async () => {
      const rs = await this.#client.execute({
        sql: `SELECT DISTINCT a.id, a.version, a.state, x.${column} AS match
          FROM ${table} x JOIN apps a ON a.id = x.app_id AND a.version = x.version
          WHERE x.${column} = ? AND a.state IN ('active', 'inactive')
          ORDER BY a.id`,
        args: [value],
      });
      return rs.rows.map(hitFromRow);
    });
  }

  async setState(appId: string, state: AppState): Promise<void> {
    const action = `set the state of ${appId}`;
    this.#writable(action);
    const [rs] = await guarded(action, () =>
      this.#client.batch([
        { sql: "UPDATE apps SET state = ? WHERE id = ?", args: [state, appId] },
      ], "write"));
    if (rs.rowsAffected === 0) {
      throw new NxError("app.not_installed", `cannot ${action}: it is not installed`, {
        details: { appId },
      });
    }
  }

  async audit(entry: AuditEntry): Promise<number> {
    const action = `record ${entry.op}${
      entry.appId === undefined ? "" : ` of ${entry.appId}`
    } in the audit log`;
    this.#writable(action);
    const row = auditArgs({ ...entry, actor: entry.actor ?? processActor() });
    const [rs] = await guarded(action, () =>
      this.#client.batch([{
        sql: `INSERT INTO audit (${AUDIT_COLUMNS.join(", ")})
          VALUES (${AUDIT_COLUMNS.map(() => "?").join(", ")}) RETURNING seq`,
        args: row,
      }], "write"));
    return Number(rs.rows[0].seq);
  }

  auditEntry(seq: number): Promise<AuditEntry | undefined> {
    if (!Number.isSafeInteger(seq)) {
      return Promise.reject(
        new NxError("usage.invalid_argument", `cannot read audit entry ${seq}: not an integer`),
      );
    }
    return guarded(`read audit entry ${seq}`, async () => {
      const rs = await this.#client.execute({
        sql: "SELECT * FROM audit WHERE seq = ?",
        args: [seq],
      });
      const row = rs.rows[0];
      return row === undefined ? undefined : auditFromRow(row);
    });
  }

  history(appId?: string, limit?: number): Promise<AuditEntry[]> {
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      return Promise.reject(
        new NxError("usage.invalid_argument", `cannot read the audit log: bad limit ${limit}`),
      );
    }
    const where = appId === undefined ? "" : "WHERE app_id = ?";
    const args = [...(appId === undefined ? [] : [appId]), limit ?? -1];
    return guarded("read the audit log", async () => {
      const rs = await this.#client.execute({
        sql: `SELECT * FROM (SELECT * FROM audit ${where} ORDER BY seq DESC LIMIT ?)
          ORDER BY seq`,
        args,
      });
      return rs.rows.map(auditFromRow);
    });
  }

  appTablesDigest(): Promise<string> {
    return guarded("digest the registry", async () => {
      const results = await this.#client.batch(
        APP_TABLES.map((t) => `SELECT * FROM ${t.name} ORDER BY ${t.orderBy}`),
        "read",
      );
      const hash = createHash("sha256");
      APP_TABLES.forEach((t, i) => {
        const rs = results[i];
        hash.update(JSON.stringify({ table: t.name, columns: rs.columns }) + "\n");
        for (const row of rs.rows) {
          hash.update(JSON.stringify(Array.from({ length: row.length }, (_, j) => row[j])) + "\n");
        }
      });
      return hash.digest("hex");
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** Every table of schema `version` is present (a read-only open of an older database). */
async function checkTablesAt(client: Client, url: string, version: number): Promise<void> {
  const rs = await client.execute("SELECT name FROM sqlite_schema WHERE type = 'table'");
  const names = new Set(rs.rows.map((r) => String(r.name)));
  const missing = tablesAt(version).filter((t) => !names.has(t));
  if (missing.length > 0) {
    throw notARegistry(`the database lacks the nx table(s) ${missing.join(", ")}`, url);
  }
}

/** A registry on a private in-memory database at the current schema, read-only. */
async function emptyView(): Promise<Registry> {
  const client = await connect(":memory:");
  try {
    await migrate(client, ":memory:");
    await client.execute("PRAGMA query_only = ON");
    return new LibsqlRegistry(client, true);
  } catch (e) {
    client.close();
    throw registryError("open registry", e, ":memory:");
  }
}

/**
 * Opens (and for a writer creates and migrates) the registry at `url` (`file:` or `:memory:`).
 * Throws `registry.corrupt` for a file that is not an nx registry, `registry.unsupported_version`
 * for a newer schema, `registry.failed` for other libSQL failures.
 */
export async function openRegistry(url: string, options: OpenOptions = {}): Promise<Registry> {
  const readOnly = options.readOnly ?? false;
  const path = localPathOf(url);
  if (readOnly && path !== undefined && !(await fileExists(path))) return emptyView();
  const client = await connect(url);
  try {
    if (path !== undefined) await configureFile(client, readOnly);
    const version = await readVersion(client, url);
    checkSupported(version, url);
    if (version < REGISTRY_SCHEMA_VERSION) {
      if (readOnly && version === 0) {
        client.close();
        return emptyView();
      }
      // A reader needs no migration that only adds tables readers never use.
      if (readOnly && migrationsFrom(version).every((m) => m.readerSafe)) {
        await checkTablesAt(client, url, version);
        await client.execute("PRAGMA query_only = ON");
        return new LibsqlRegistry(client, true, version);
      }
      if (readOnly) {
        throw new NxError(
          "registry.failed",
          `cannot open registry read-only: schema version ${version} needs a migration`,
          { details: { url, version }, hint: "open it once read-write to migrate it" },
        );
      }
      await migrate(client, url);
    }
    await checkTables(client, url);
    if (readOnly) await client.execute("PRAGMA query_only = ON");
    return new LibsqlRegistry(client, readOnly);
  } catch (e) {
    client.close();
    throw registryError("open registry", e, url);
  }
}
