/**
 * The registry's versioned SQL schema. `meta.schema_version` names the version a database is at;
 * {@link MIGRATIONS} takes a database from any older version to {@link REGISTRY_SCHEMA_VERSION},
 * one step at a time, inside one write transaction. To change the schema, append a migration
 * (never edit a released one) and bump the version.
 */

/** The schema version this nx reads and writes. */
export const REGISTRY_SCHEMA_VERSION = 4;

export interface Migration {
  /** The version the database is at after this migration. */
  readonly to: number;
  readonly statements: readonly string[];
  /** The tables this migration creates. */
  readonly tables: readonly string[];
  /**
   * A read-only open may read a database from before this migration as it is instead of failing:
   * the migration only adds tables readers never need (they are simply absent), or columns the
   * rows read as unset (`_rows.ts`).
   */
  readonly readerSafe: boolean;
}

/**
 * Version 1. Enum-like columns (state, scheme, op) carry no CHECK constraint, so adding a value
 * needs no table rebuild; rows are checked when they are read (see `_rows.ts`).
 */
const V1: readonly string[] = [
  `CREATE TABLE meta (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
  ) STRICT`,
  `CREATE TABLE apps (
    id TEXT PRIMARY KEY NOT NULL,
    version TEXT NOT NULL,
    state TEXT NOT NULL,
    publisher TEXT NOT NULL,
    bundle_type TEXT NOT NULL,
    sku TEXT,
    last_diff TEXT,
    installed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  ) STRICT`,
  // ord: the position in AppRecord.versions (0 = newest), so a record reads back in its order.
  `CREATE TABLE versions (
    app_id TEXT NOT NULL,
    version TEXT NOT NULL,
    ord INTEGER NOT NULL,
    size INTEGER NOT NULL,
    files TEXT NOT NULL,
    manifest TEXT NOT NULL,
    scheme TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    PRIMARY KEY (app_id, version)
  ) STRICT`,
  `CREATE TABLE abilities (
    app_id TEXT NOT NULL,
    version TEXT NOT NULL,
    ability TEXT NOT NULL,
    PRIMARY KEY (app_id, version, ability)
  ) STRICT`,
  `CREATE INDEX abilities_by_value ON abilities (ability, app_id, version)`,
  `CREATE TABLE capabilities (
    app_id TEXT NOT NULL,
    version TEXT NOT NULL,
    capability TEXT NOT NULL,
    PRIMARY KEY (app_id, version, capability)
  ) STRICT`,
  `CREATE INDEX capabilities_by_value ON capabilities (capability, app_id, version)`,
  `CREATE TABLE exports (
    app_id TEXT NOT NULL,
    version TEXT NOT NULL,
    ability TEXT NOT NULL,
    permission TEXT NOT NULL,
    PRIMARY KEY (app_id, version, ability, permission)
  ) STRICT`,
  `CREATE INDEX exports_by_value ON exports (permission, app_id, version)`,
  `CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    op TEXT NOT NULL,
    app_id TEXT NOT NULL,
    from_version TEXT,
    to_version TEXT,
    result TEXT NOT NULL,
    details TEXT
  ) STRICT`,
  `CREATE INDEX audit_by_app ON audit (app_id)`,
];

/**
 * Version 2: `kept_data`, the publisher of the data an unregistered app leaves behind
 * (`uninstall --keep-data`), so that only the same publisher adopts it. `unregister()` writes the
 * row from the apps row it deletes, `register()` deletes it; it is read only when planning an
 * install, never by the read commands.
 */
const V2: readonly string[] = [
  `CREATE TABLE kept_data (
    app_id TEXT PRIMARY KEY NOT NULL,
    publisher TEXT NOT NULL,
    version TEXT NOT NULL
  ) STRICT`,
];

/**
 * Version 3: the audit log says who made each change (`actor_uid`, `actor_user`, `nx_version`)
 * and may name no app (`app_id` NULL: a trust or policy change, a repair of the whole root, a
 * refused install of something that is not a bundle). SQLite cannot drop a NOT NULL, so the
 * table is rebuilt; every entry keeps its `seq` (its id), and the `*` older nx wrote for "the
 * whole root" becomes NULL. AUTOINCREMENT's counter moves with the rename, so ids are never
 * reused.
 */
const V3: readonly string[] = [
  `CREATE TABLE audit_v3 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    op TEXT NOT NULL,
    app_id TEXT,
    from_version TEXT,
    to_version TEXT,
    result TEXT NOT NULL,
    details TEXT,
    actor_uid INTEGER,
    actor_user TEXT,
    nx_version TEXT
  ) STRICT`,
  `INSERT INTO audit_v3 (seq, time, op, app_id, from_version, to_version, result, details)
    SELECT seq, time, op, NULLIF(app_id, '*'), from_version, to_version, result, details
    FROM audit ORDER BY seq`,
  `DROP TABLE audit`,
  `ALTER TABLE audit_v3 RENAME TO audit`,
  `CREATE INDEX audit_by_app ON audit (app_id)`,
];

/**
 * Version 4: the licensing ledger (docs/licensing.md). `entitlements` holds each imported token,
 * `status_changes` each imported revocation or restore — also one whose token has not arrived
 * yet, which applies when it does. Both keep the signed record as imported (`record`) beside the
 * columns decoded from it; a row is written only after the record verified, and never changed.
 * The events that changed them are audit entries (`licensed-import`).
 */
const V4: readonly string[] = [
  `CREATE TABLE entitlements (
    token_id TEXT PRIMARY KEY NOT NULL,
    app_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    type TEXT NOT NULL,
    device TEXT NOT NULL,
    audience TEXT NOT NULL,
    iat INTEGER NOT NULL,
    nbf INTEGER NOT NULL,
    exp INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    record BLOB NOT NULL,
    imported_at TEXT NOT NULL
  ) STRICT`,
  `CREATE INDEX entitlements_by_app ON entitlements (app_id, sku)`,
  `CREATE TABLE status_changes (
    record_id TEXT PRIMARY KEY NOT NULL,
    token_id TEXT NOT NULL,
    action TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    serial INTEGER NOT NULL,
    app_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    reason TEXT NOT NULL,
    key_id TEXT NOT NULL,
    record BLOB NOT NULL,
    imported_at TEXT NOT NULL
  ) STRICT`,
  `CREATE INDEX status_changes_by_token ON status_changes (token_id)`,
];

/** Ordered; `MIGRATIONS[i].to === i + 1`. Version 0 is an empty database. */
export const MIGRATIONS: readonly Migration[] = [
  {
    to: 1,
    statements: V1,
    tables: ["meta", "apps", "versions", "abilities", "capabilities", "exports", "audit"],
    readerSafe: false,
  },
  { to: 2, statements: V2, tables: ["kept_data"], readerSafe: true },
  { to: 3, statements: V3, tables: [], readerSafe: true },
  { to: 4, statements: V4, tables: ["entitlements", "status_changes"], readerSafe: true },
];

/** The tables a database at `version` holds. */
export function tablesAt(version: number): readonly string[] {
  return MIGRATIONS.filter((m) => m.to <= version).flatMap((m) => m.tables);
}

/** The tables an nx registry at the current version must hold. */
export const REQUIRED_TABLES: readonly string[] = tablesAt(REGISTRY_SCHEMA_VERSION);

/**
 * The app tables and their total row order, for `appTablesDigest()`. `kept_data` is not one of
 * them: it describes apps that are no longer registered (read it with `keptData()`).
 */
export const APP_TABLES: readonly { name: string; orderBy: string }[] = [
  { name: "apps", orderBy: "id" },
  { name: "versions", orderBy: "app_id, version" },
  { name: "abilities", orderBy: "app_id, version, ability" },
  { name: "capabilities", orderBy: "app_id, version, capability" },
  { name: "exports", orderBy: "app_id, version, ability, permission" },
];

/** The statement that records `version` in meta (run last in each migration transaction). */
export function setVersionStatement(version: number): { sql: string; args: string[] } {
  return {
    sql: `INSERT INTO meta (key, value) VALUES ('schema_version', ?)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    args: [String(version)],
  };
}

/** The migrations that take a database at `from` to the current version, in order. */
export function migrationsFrom(from: number): readonly Migration[] {
  return MIGRATIONS.filter((m) => m.to > from);
}
