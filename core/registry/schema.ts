/**
 * The registry's versioned SQL schema. `meta.schema_version` names the version a database is at;
 * {@link MIGRATIONS} takes a database from any older version to {@link REGISTRY_SCHEMA_VERSION},
 * one step at a time, inside one write transaction. To change the schema, append a migration
 * (never edit a released one) and bump the version.
 */

/** The schema version this nx reads and writes. */
export const REGISTRY_SCHEMA_VERSION = 2;

export interface Migration {
  /** The version the database is at after this migration. */
  readonly to: number;
  readonly statements: readonly string[];
  /** The tables this migration creates. */
  readonly tables: readonly string[];
  /**
   * The migration only adds tables that readers never need, so a read-only open may read a
   * database from before it as it is (the new tables are simply absent) instead of failing.
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

/** Ordered; `MIGRATIONS[i].to === i + 1`. Version 0 is an empty database. */
export const MIGRATIONS: readonly Migration[] = [
  {
    to: 1,
    statements: V1,
    tables: ["meta", "apps", "versions", "abilities", "capabilities", "exports", "audit"],
    readerSafe: false,
  },
  { to: 2, statements: V2, tables: ["kept_data"], readerSafe: true },
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
