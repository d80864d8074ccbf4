/**
 * The root's licensing ledger as the gate sees it: the registry's rows (core/registry ledger.ts)
 * decoded back into records, and the import of new records — every file verified first, then
 * all of them stored in one write transaction, so a refused file leaves the ledger as it was.
 */
import { createHash } from "node:crypto";
import type { LedgerChange, LedgerToken, Registry } from "../registry/mod.ts";
import {
  decodeRecord,
  type EntitlementRecord,
  type LedgerFacts,
  type LicensingRecord,
  type StatusChangeRecord,
  verifyRecord,
  type VerifyRecordOptions,
} from "../entitlement/mod.ts";

/** The ledger's records (optionally one app's), as imported. */
export async function ledgerFacts(registry: Registry, appId?: string): Promise<LedgerFacts> {
  const rows = await registry.ledger.read(appId);
  return {
    tokens: rows.tokens.map((r) => decodeRecord(r.record) as EntitlementRecord),
    changes: rows.changes.map((r) => decodeRecord(r.record) as StatusChangeRecord),
  };
}

export interface ImportedRecord {
  record: LicensingRecord;
  /** Lowercase hex SHA-256 of the file. */
  recordId: string;
  /** false: the ledger held this record already (a second import is a no-op). */
  added: boolean;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/**
 * Verifies every file (`entitlement.*` on the first that fails: nothing is stored), then stores
 * the new ones in one transaction. An already expired token is refused (verifyRecord's `now`).
 */
export async function importRecords(
  registry: Registry,
  files: readonly Uint8Array[],
  verify: VerifyRecordOptions,
  importedAt: Date,
): Promise<ImportedRecord[]> {
  const records = files.map((bytes) => ({ bytes, record: verifyRecord(bytes, verify) }));
  const at = importedAt.toISOString();
  const tokens: LedgerToken[] = [];
  const changes: LedgerChange[] = [];
  const order: ("token" | "change")[] = [];
  for (const { bytes, record } of records) {
    if (record.kind === "entitlement") {
      const t = record.token;
      tokens.push({
        tokenId: record.tokenId,
        appId: t.appId,
        sku: t.sku,
        type: t.type,
        deviceFp: t.deviceFp,
        audience: t.audience,
        iat: t.iat,
        nbf: t.nbf,
        exp: t.exp,
        keyId: record.keyId,
        record: bytes,
        importedAt: at,
      });
      order.push("token");
    } else {
      const c = record.change;
      changes.push({
        recordId: sha256(bytes),
        tokenId: c.tokenId,
        action: c.action,
        issuedAt: c.issuedAt,
        serial: c.serial,
        appId: c.appId,
        sku: c.sku,
        reason: c.reason,
        keyId: record.keyId,
        record: bytes,
        importedAt: at,
      });
      order.push("change");
    }
  }
  const added = await registry.ledger.add(tokens, changes);
  let t = 0;
  let c = 0;
  return records.map(({ bytes, record }, i) => ({
    record,
    recordId: sha256(bytes),
    added: order[i] === "token" ? added.tokens[t++] : added.changes[c++],
  }));
}
