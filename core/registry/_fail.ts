/** Turns libSQL failures into NxError: a damaged file is `registry.corrupt`, the rest `registry.failed`. */
import { LibsqlError } from "@libsql/client/sqlite3";
import { isNxError, NxError } from "../errors.ts";

const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/** Whether a libSQL error says the file is not (or no longer) a readable SQLite database. */
export function isCorruption(e: unknown): boolean {
  if (!(e instanceof LibsqlError)) return false;
  const primary = e.rawCode === undefined ? undefined : e.rawCode & 0xff;
  return primary === SQLITE_CORRUPT || primary === SQLITE_NOTADB ||
    e.code === "SQLITE_NOTADB" || e.code.startsWith("SQLITE_CORRUPT");
}

function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0].trim().toLowerCase();
}

/** The NxError for a failure of `action` ("cannot <action>: <reason>"); NxErrors pass through. */
export function registryError(action: string, e: unknown, url?: string): NxError {
  if (isNxError(e)) return e;
  const details: Record<string, unknown> = {};
  if (url !== undefined) details.url = url;
  if (e instanceof LibsqlError) details.sqliteCode = e.extendedCode ?? e.code;
  if (isCorruption(e)) {
    return new NxError("registry.corrupt", `cannot ${action}: the registry is not a database`, {
      details,
      cause: e,
    });
  }
  return new NxError("registry.failed", `cannot ${action}: ${reasonOf(e)}`, { details, cause: e });
}

/** The registry.corrupt error for a database that is SQLite but not an nx registry. */
export function notARegistry(reason: string, url: string): NxError {
  return new NxError("registry.corrupt", `cannot open registry: ${reason}`, {
    details: { url, reason },
  });
}

/** Runs `fn`, converting anything it throws with {@link registryError}. */
export async function guarded<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw registryError(action, e);
  }
}
