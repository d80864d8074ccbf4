/**
 * Opening a registry database: URL → client, connection pragmas, then the schema check and the
 * migrations (one write transaction that re-reads the version under the lock).
 */
import type { Client, InStatement, ResultSet } from "@libsql/client/sqlite3";
import { resolve } from "node:path";
import { NxError } from "../errors.ts";
import { notARegistry, registryError } from "./_fail.ts";
import {
  migrationsFrom,
  REGISTRY_SCHEMA_VERSION,
  REQUIRED_TABLES,
  setVersionStatement,
} from "./schema.ts";

/** How long a statement waits for another process's write lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

interface Executor {
  execute(stmt: InStatement): Promise<ResultSet>;
}

/** `file:` + the absolute path, each segment percent-encoded (so `?`, `#`, `%` survive). */
export function registryUrlForFile(path: string): string {
  return "file:" + resolve(path).split("/").map(encodeURIComponent).join("/");
}

/** Schemes of a shared (server) libSQL registry, handed to the client as they are. */
const REMOTE_SCHEMES = ["libsql:", "http:", "https:", "ws:", "wss:"];

function isInMemory(url: string): boolean {
  return url === ":memory:" || url.startsWith("file::memory:");
}

function isRemote(url: string): boolean {
  return REMOTE_SCHEMES.some((s) => url.startsWith(s));
}

/** The local path a registry URL names, or undefined for an in-memory or remote database. */
export function localPathOf(url: string): string | undefined {
  if (isInMemory(url) || isRemote(url)) return undefined;
  if (!url.startsWith("file:")) {
    throw new NxError(
      "registry.failed",
      `cannot open registry: unsupported URL scheme (file:, :memory:, ${
        REMOTE_SCHEMES.join(", ")
      })`,
      { details: { url } },
    );
  }
  let rest = url.slice("file:".length);
  const end = rest.search(/[?#]/);
  if (end >= 0) rest = rest.slice(0, end);
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    rest = slash < 0 ? "" : rest.slice(slash);
  }
  try {
    return decodeURIComponent(rest);
  } catch (e) {
    throw registryError("open registry", e, url);
  }
}

/** Whether the file exists (without creating it). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw registryError("open registry", e);
  }
}

/**
 * trust: libSQL opens the database (and its -wal, -shm and -journal companions) by path, following
 * links, so a link or special file planted there is refused before it can be written through.
 */
function refuseLinkedFiles(path: string): void {
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(file);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw registryError("open registry", e);
    }
    if (!info.isFile) {
      throw new NxError(
        "root.unsafe_entry",
        `cannot open registry ${file}: a link or special file stands where the database belongs`,
        { details: { path: file }, hint: "run `nx pkg doctor` to list what does not belong" },
      );
    }
  }
}

/**
 * One connection per client (`concurrency: 1`): `synchronous` and `query_only` are
 * per-connection pragmas, so they must hold on the only connection the client will use.
 * `timeout` is SQLite's busy timeout, applied by the client to every connection it opens.
 *
 * A local or in-memory database loads only the client's sqlite3 entry; the full client, with
 * its HTTP and WebSocket (Hrana) code, is loaded for a remote URL alone (docs/performance.md).
 */
export async function connect(url: string): Promise<Client> {
  const path = localPathOf(url);
  if (path !== undefined) refuseLinkedFiles(path);
  try {
    const { createClient } = isRemote(url)
      ? await import("@libsql/client")
      : await import("@libsql/client/sqlite3");
    return createClient({ url, concurrency: 1, timeout: BUSY_TIMEOUT_MS, intMode: "number" });
  } catch (e) {
    throw registryError("open registry", e, url);
  }
}

/** WAL (readers never block the writer) and a full fsync at each commit (a commit survives a crash). */
export async function configureFile(client: Client, readOnly: boolean): Promise<void> {
  // journal_mode is stored in the file: a read-only open keeps whatever the writer set.
  if (!readOnly) await client.execute("PRAGMA journal_mode = WAL");
  await client.execute("PRAGMA synchronous = FULL");
}

/**
 * The database's schema version: 0 when it holds no table at all (a new or empty file).
 * Tables without `meta`, or a `meta` without a well-formed version, are not an nx registry.
 */
export async function readVersion(db: Executor, url: string): Promise<number> {
  const tables = await db.execute(
    "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
  );
  const names = tables.rows.map((r) => String(r.name));
  if (names.length === 0) return 0;
  if (!names.includes("meta")) {
    throw notARegistry("the database has tables but no nx meta table", url);
  }
  const meta = await db.execute("SELECT value FROM meta WHERE key = 'schema_version'");
  const value = meta.rows[0]?.value;
  if (typeof value !== "string" || !/^[1-9][0-9]{0,8}$/.test(value)) {
    throw notARegistry("meta.schema_version is missing or malformed", url);
  }
  return Number(value);
}

export function checkSupported(version: number, url: string): void {
  if (version > REGISTRY_SCHEMA_VERSION) {
    throw new NxError(
      "registry.unsupported_version",
      `cannot open registry: schema version ${version} is newer than ${REGISTRY_SCHEMA_VERSION}`,
      {
        details: { url, version, supported: REGISTRY_SCHEMA_VERSION },
        hint: "upgrade nx to a version that reads this registry",
      },
    );
  }
}

/** Every table of the current schema is present. */
export async function checkTables(client: Client, url: string): Promise<void> {
  const rs = await client.execute("SELECT name FROM sqlite_schema WHERE type = 'table'");
  const names = new Set(rs.rows.map((r) => String(r.name)));
  const missing = REQUIRED_TABLES.filter((t) => !names.has(t));
  if (missing.length > 0) {
    throw notARegistry(`the database lacks the nx table(s) ${missing.join(", ")}`, url);
  }
}

/** Applies the migrations from the version read under the write lock, all in one transaction. */
export async function migrate(client: Client, url: string): Promise<void> {
  const tx = await client.transaction("write");
  try {
    const from = await readVersion(tx, url);
    checkSupported(from, url);
    for (const m of migrationsFrom(from)) {
      await tx.batch([...m.statements, setVersionStatement(m.to)]);
    }
    await tx.commit();
  } finally {
    tx.close();
  }
}

/**
 * What a local registry file holds, read without creating or changing anything: absent, without
 * the nx schema (an empty or zero-length database), with the schema but no app, or with apps.
 * Anything else (not a database, a foreign or newer schema, a remote URL) is `present`: the
 * regular open decides and reports it with its own code.
 */
export type RegistryPresence = "absent" | "no-schema" | "no-apps" | "present";

export async function probeRegistry(url: string): Promise<RegistryPresence> {
  const path = localPathOf(url);
  if (path === undefined) return "present";
  if (!(await fileExists(path))) return "absent";
  let client: Client | undefined;
  try {
    client = await connect(url);
    await client.execute("PRAGMA query_only = ON");
    const version = await readVersion(client, url);
    if (version === 0) return "no-schema";
    if (version > REGISTRY_SCHEMA_VERSION) return "present";
    const rs = await client.execute("SELECT EXISTS (SELECT 1 FROM apps) AS any");
    return Number(rs.rows[0]?.any) === 0 ? "no-apps" : "present";
  } catch {
    return "present";
  } finally {
    client?.close();
  }
}
