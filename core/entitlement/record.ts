/**
 * A licensing file taken apart: the outer SignedRecord and its inner token or status change,
 * both strictly decoded. No trust decision here (verify.ts makes it); the ledger uses
 * {@link decodeRecord} to read back records it verified when they were imported.
 */

import { NxError } from "../errors.ts";
import { decodeEntitlement, decodeSignedRecord, decodeStatusChange } from "./codec.ts";
import { tokenId } from "./sign.ts";
import { type Entitlement, RECORD_MAX_BYTES, type StatusChange } from "./types.ts";

export interface EntitlementRecord {
  kind: "entitlement";
  token: Entitlement;
  /** 64 hex: SHA-256 of the token's canonical message. */
  tokenId: string;
  /** 32 hex: the signer's key id. */
  keyId: string;
  signature: Uint8Array;
  /** The token's canonical message (what was signed, after the context and kind). */
  body: Uint8Array;
}

export interface StatusChangeRecord {
  kind: "statusChange";
  change: StatusChange;
  keyId: string;
  signature: Uint8Array;
  body: Uint8Array;
}

export type LicensingRecord = EntitlementRecord | StatusChangeRecord;

/**
 * Throws `entitlement.too_large` for a file over 16 KiB. Callers reading a file check its size
 * with this before reading it; {@link decodeRecord} checks the bytes again.
 */
export function checkRecordSize(size: number): void {
  if (size > RECORD_MAX_BYTES) {
    throw new NxError(
      "entitlement.too_large",
      `cannot read licensing record: ${size} bytes is more than ${RECORD_MAX_BYTES}`,
      {
        hint: "a token or revocation file is at most 16 KiB: check that this is the file the " +
          "store issued",
        details: { size, limit: RECORD_MAX_BYTES },
      },
    );
  }
}

/** Decodes a `.nxe` / `.nxr` file (size cap, strict outer and inner decoding). */
export function decodeRecord(bytes: Uint8Array): LicensingRecord {
  checkRecordSize(bytes.length);
  const outer = decodeSignedRecord(bytes);
  const { keyId, signature, body } = outer;
  if (outer.kind === "entitlement") {
    const token = decodeEntitlement(body);
    return { kind: "entitlement", token, tokenId: tokenId(body), keyId, signature, body };
  }
  return { kind: "statusChange", change: decodeStatusChange(body), keyId, signature, body };
}

/** What a record names: the details every licensing error carries. */
export function recordDetails(r: LicensingRecord): Record<string, unknown> {
  return r.kind === "entitlement"
    ? { appId: r.token.appId, sku: r.token.sku, tokenId: r.tokenId, keyId: r.keyId }
    : {
      appId: r.change.appId,
      sku: r.change.sku,
      tokenId: r.change.tokenId,
      action: r.change.action,
      keyId: r.keyId,
    };
}
