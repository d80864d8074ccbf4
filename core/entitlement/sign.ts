/**
 * What a store signs, and how a token is named: the signing message, token ids, the device
 * fingerprint and the issuers the dev store (and the tests) use. Pure: the seed is passed in.
 */

import { createHash } from "node:crypto";
import { concatBytes } from "../bytes/mod.ts";
import { fingerprint, publicKeyFromSeed, sign } from "../trust/mod.ts";
import { encodeEntitlement, encodeSignedRecord, encodeStatusChange } from "./codec.ts";
import {
  type Entitlement,
  RECORD_KINDS,
  RECORD_SIGNING_CONTEXT,
  type RecordKind,
  type StatusChange,
} from "./types.ts";

const utf8 = new TextEncoder();

/** The Ed25519 message of a record: "nx-licensed-v1\0" ‖ kind ordinal (1 byte) ‖ body. */
export function recordSigningMessage(kind: RecordKind, body: Uint8Array): Uint8Array {
  return concatBytes([
    utf8.encode(RECORD_SIGNING_CONTEXT),
    new Uint8Array([RECORD_KINDS.indexOf(kind)]),
    body,
  ]);
}

/** A token's id: lowercase hex SHA-256 of the Entitlement's canonical message (64 hex). */
export function tokenId(entitlementBody: Uint8Array): string {
  return createHash("sha256").update(entitlementBody).digest("hex");
}

/** The id as shown to people: its first 16 hex digits. */
export function shortTokenId(id: string): string {
  return id.slice(0, 16);
}

/**
 * A device's fingerprint from its public key (pkg/device.key of a root): the first 16 bytes of
 * SHA-256(public key) as 32 hex, the same function as publisher ids and store key ids.
 */
export function deviceFingerprint(publicKey: Uint8Array): string {
  return fingerprint(publicKey);
}

/** Signs `body` of `kind` with `seed`: the bytes of a `.nxe` / `.nxr` file. */
export function issueRecord(kind: RecordKind, body: Uint8Array, seed: Uint8Array): Uint8Array {
  return encodeSignedRecord({
    kind,
    body,
    keyId: keyIdOfSeed(seed),
    signature: sign(recordSigningMessage(kind, body), seed),
  });
}

/** A signed token file (`.nxe`) for `fields`, by the store key `storeSeed`. */
export function issueEntitlement(fields: Entitlement, storeSeed: Uint8Array): Uint8Array {
  return issueRecord("entitlement", encodeEntitlement(fields), storeSeed);
}

/** A signed revocation or restore file (`.nxr`) for `fields`, by the store key `storeSeed`. */
export function issueStatusChange(fields: StatusChange, storeSeed: Uint8Array): Uint8Array {
  return issueRecord("statusChange", encodeStatusChange(fields), storeSeed);
}

/** The 32-hex id of the key a seed signs with (what a SignedRecord names in `keyId`). */
export function keyIdOfSeed(seed: Uint8Array): string {
  return fingerprint(publicKeyFromSeed(seed));
}
