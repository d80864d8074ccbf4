/**
 * The licensing records (fixtures/schema/licensing.capnp, docs/licensing.md) as plain values.
 * Times are Unix seconds (UTC) as safe integers; fingerprints and ids are lowercase hex.
 */

/** The consumer every entitlement must name: tokens for another consumer are refused. */
export const LICENSING_AUDIENCE = "nx.pkgr";

/** The only record version this code reads and writes (both records carry it). */
export const RECORD_VERSION = 1;

/** Largest `.nxe` / `.nxr` file (a canonical SignedRecord message), checked before decoding. */
export const RECORD_MAX_BYTES = 16 * 1024;

/** Domain separation: the signed message is this ‖ kind byte ‖ body. */
export const RECORD_SIGNING_CONTEXT = "nx-licensed-v1\0";

/** File name extensions of the two record kinds. */
export const ENTITLEMENT_EXT = ".nxe";
export const STATUS_CHANGE_EXT = ".nxr";

export const TOKEN_TYPES = ["full", "trial"] as const;
export type TokenType = typeof TOKEN_TYPES[number];

export const STATUS_ACTIONS = ["revoke", "restore"] as const;
export type StatusAction = typeof STATUS_ACTIONS[number];

export const RECORD_KINDS = ["entitlement", "statusChange"] as const;
export type RecordKind = typeof RECORD_KINDS[number];

/** Most meta entries a token may carry; keys sorted and unique. */
export const META_MAX_ENTRIES = 16;
/** Longest meta value and status-change reason, in UTF-8 bytes. */
export const META_VALUE_MAX_BYTES = 256;
export const REASON_MAX_BYTES = 256;

export interface MetaEntry {
  key: string;
  value: string;
}

/** An entitlement token's fields (what the store signs). */
export interface Entitlement {
  version: number;
  /** The bundle manifest's `name`. */
  appId: string;
  sku: string;
  type: TokenType;
  /** 32 hex: the fingerprint of the device (root) the token is for. */
  deviceFp: string;
  audience: string;
  iat: number;
  nbf: number;
  exp: number;
  meta: MetaEntry[];
}

/** A signed revocation or restore of one token. */
export interface StatusChange {
  version: number;
  /** 64 hex: the token id of the entitlement it changes. */
  tokenId: string;
  action: StatusAction;
  issuedAt: number;
  serial: number;
  appId: string;
  sku: string;
  reason: string;
}

/** The outer record of a file: which kind, the inner canonical bytes, who signed them. */
export interface SignedRecord {
  kind: RecordKind;
  body: Uint8Array;
  /** 32 hex: fingerprint of the signer's public key. */
  keyId: string;
  signature: Uint8Array;
}
