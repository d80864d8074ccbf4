/**
 * The licensing ledger's tables (schema version 4): imported tokens and status changes, each
 * written once — a second import of the same record changes nothing — and read back whole. What
 * the rows mean (which token is revoked, whether an app may run) is decided by
 * core/entitlement; this module only stores and returns them.
 */
import type { Client, Row } from "@libsql/client/sqlite3";
import { guarded } from "./_fail.ts";

export interface LedgerToken {
  /** Lowercase hex SHA-256 of the token's canonical body. */
  tokenId: string;
  appId: string;
  sku: string;
  type: "full" | "trial";
  /** Hex device fingerprint the token is bound to. */
  deviceFp: string;
  audience: string;
  /** Unix seconds. */
  iat: number;
  nbf: number;
  exp: number;
  /** Hex id of the store key that signed it. */
  keyId: string;
  /** The signed record as imported. */
  record: Uint8Array;
  importedAt: string;
}

export interface LedgerChange {
  /** Lowercase hex SHA-256 of the signed record's bytes. */
  recordId: string;
  tokenId: string;
  action: "revoke" | "restore";
  issuedAt: number;
  serial: number;
  appId: string;
  sku: string;
  reason: string;
  keyId: string;
  record: Uint8Array;
  importedAt: string;
}

export interface LedgerRows {
  tokens: LedgerToken[];
  changes: LedgerChange[];
}

export interface Ledger {
  /** Stores the records not held yet, in one write transaction; returns which were new. */
  add(
    tokens: LedgerToken[],
    changes: LedgerChange[],
  ): Promise<{ tokens: boolean[]; changes: boolean[] }>;
  /** Every token and status change (optionally for one app), oldest import first. */
  read(appId?: string): Promise<LedgerRows>;
}

const TOKEN_COLUMNS = [
  "token_id",
  "app_id",
  "sku",
  "type",
  "device",
  "audience",
  "iat",
  "nbf",
  "exp",
  "key_id",
  "record",
  "imported_at",
] as const;
const CHANGE_COLUMNS = [
  "record_id",
  "token_id",
  "action",
  "issued_at",
  "serial",
  "app_id",
  "sku",
  "reason",
  "key_id",
  "record",
  "imported_at",
] as const;

const insert = (table: string, columns: readonly string[]) =>
  `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})
    ON CONFLICT DO NOTHING`;

const tokenArgs = (t: LedgerToken) => [
  t.tokenId,
  t.appId,
  t.sku,
  t.type,
  t.deviceFp,
  t.audience,
  t.iat,
  t.nbf,
  t.exp,
  t.keyId,
  t.record,
  t.importedAt,
];
const changeArgs = (c: LedgerChange) => [
  c.recordId,
  c.tokenId,
  c.action,
  c.issuedAt,
  c.serial,
  c.appId,
  c.sku,
  c.reason,
  c.keyId,
  c.record,
  c.importedAt,
];

const bytes = (v: unknown) => new Uint8Array(v as ArrayBuffer);

function tokenFromRow(r: Row): LedgerToken {
  return {
    tokenId: String(r.token_id),
    appId: String(r.app_id),
    sku: String(r.sku),
    type: r.type === "trial" ? "trial" : "full",
    deviceFp: String(r.device),
    audience: String(r.audience),
    iat: Number(r.iat),
    nbf: Number(r.nbf),
    exp: Number(r.exp),
    keyId: String(r.key_id),
    record: bytes(r.record),
    importedAt: String(r.imported_at),
  };
}

function changeFromRow(r: Row): LedgerChange {
  return {
    recordId: String(r.record_id),
    tokenId: String(r.token_id),
    action: r.action === "restore" ? "restore" : "revoke",
    issuedAt: Number(r.issued_at),
    serial: Number(r.serial),
    appId: String(r.app_id),
    sku: String(r.sku),
    reason: String(r.reason),
    keyId: String(r.key_id),
    record: bytes(r.record),
    importedAt: String(r.imported_at),
  };
}

/** The ledger of `client`; a database from before version 4 (a read-only open) holds none. */
export function ledgerOf(
  client: Client,
  version: number,
  writable: (action: string) => void,
): Ledger {
  return {
    async add(tokens, changes) {
      const action = "import licensing records";
      writable(action);
      const results = await guarded(action, () =>
        client.batch([
          ...tokens.map((t) => ({
            sql: insert("entitlements", TOKEN_COLUMNS),
            args: tokenArgs(t),
          })),
          ...changes.map((c) => ({
            sql: insert("status_changes", CHANGE_COLUMNS),
            args: changeArgs(c),
          })),
        ], "write"));
      const added = results.map((rs) => rs.rowsAffected === 1);
      return { tokens: added.slice(0, tokens.length), changes: added.slice(tokens.length) };
    },
    read(appId) {
      if (version < 4) return Promise.resolve({ tokens: [], changes: [] });
      const where = appId === undefined ? "" : "WHERE app_id = ?";
      const args = appId === undefined ? [] : [appId];
      return guarded("read the licensing ledger", async () => {
        const [tokens, changes] = await client.batch([
          { sql: `SELECT * FROM entitlements ${where} ORDER BY imported_at, token_id`, args },
          { sql: `SELECT * FROM status_changes ${where} ORDER BY imported_at, record_id`, args },
        ], "read");
        return { tokens: tokens.rows.map(tokenFromRow), changes: changes.rows.map(changeFromRow) };
      });
    },
  };
}
