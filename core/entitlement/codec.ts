/**
 * The licensing records ⇄ canonical Cap'n Proto messages (fixtures/schema/licensing.capnp).
 *
 * Decoding is strict: the bounded reader takes the message apart, every field is checked, and
 * the values are encoded again; the bytes must be identical. So one value has exactly one
 * accepted encoding: extra words, untruncated sections, far pointers, a second segment,
 * padding or trailing bytes are all `entitlement.malformed`.
 */

import { fromHex, toHex } from "../bytes/mod.ts";
import {
  CapnpError,
  DEFAULT_LIMITS,
  type ListReader,
  MessageReader,
  type ReadLimits,
  type StructReader,
} from "../bundle/capnp/mod.ts";
import { encodeCanonical, type StructValue } from "./_canonical.ts";
import { checkEntitlement, checkStatusChange, isKeyId, malformed } from "./fields.ts";
import {
  type Entitlement,
  RECORD_KINDS,
  RECORD_MAX_BYTES,
  type SignedRecord,
  STATUS_ACTIONS,
  type StatusChange,
  TOKEN_TYPES,
} from "./types.ts";

const LIMITS: ReadLimits = { ...DEFAULT_LIMITS, maxBytes: RECORD_MAX_BYTES, maxDepth: 4 };
const SIGNATURE_BYTES = 64;

/** A data section of `words` words written through a little-endian view. */
function dataSection(words: number, fill: (view: DataView) => void): Uint8Array {
  const data = new Uint8Array(words * 8);
  fill(new DataView(data.buffer));
  return data;
}

function entitlementValue(e: Entitlement): StructValue {
  return {
    data: dataSection(4, (v) => {
      v.setUint16(0, e.version, true);
      v.setUint16(2, TOKEN_TYPES.indexOf(e.type), true);
      v.setBigInt64(8, BigInt(e.iat), true);
      v.setBigInt64(16, BigInt(e.nbf), true);
      v.setBigInt64(24, BigInt(e.exp), true);
    }),
    ptrs: [
      { text: e.appId },
      { text: e.sku },
      { bytes: fromHex(e.deviceFp) },
      { text: e.audience },
      e.meta.length === 0 ? null : {
        structs: e.meta.map((m) => ({
          data: new Uint8Array(0),
          ptrs: [{ text: m.key }, { text: m.value }],
        })),
      },
    ],
  };
}

function statusChangeValue(s: StatusChange): StructValue {
  return {
    data: dataSection(3, (v) => {
      v.setUint16(0, s.version, true);
      v.setUint16(2, STATUS_ACTIONS.indexOf(s.action), true);
      v.setBigInt64(8, BigInt(s.issuedAt), true);
      v.setBigUint64(16, BigInt(s.serial), true);
    }),
    ptrs: [{ bytes: fromHex(s.tokenId) }, { text: s.appId }, { text: s.sku }, { text: s.reason }],
  };
}

function signedRecordValue(r: SignedRecord): StructValue {
  return {
    data: dataSection(1, (v) => v.setUint16(0, RECORD_KINDS.indexOf(r.kind), true)),
    ptrs: [{ bytes: r.body }, { bytes: fromHex(r.keyId) }, { bytes: r.signature }],
  };
}

/** The canonical message of a token; throws `entitlement.malformed` for invalid fields. */
export function encodeEntitlement(e: Entitlement): Uint8Array {
  checkEntitlement(e, "encode entitlement");
  return encodeCanonical(entitlementValue(e));
}

export function encodeStatusChange(s: StatusChange): Uint8Array {
  checkStatusChange(s, "encode status change");
  return encodeCanonical(statusChangeValue(s));
}

export function encodeSignedRecord(r: SignedRecord): Uint8Array {
  checkSignedRecord(r, "encode licensing record");
  return encodeCanonical(signedRecordValue(r));
}

function checkSignedRecord(r: SignedRecord, action: string): void {
  if (!RECORD_KINDS.includes(r.kind)) throw malformed(action, "unknown kind", { field: "kind" });
  if (r.body.length === 0) throw malformed(action, "the record has no body");
  if (!isKeyId(r.keyId)) throw malformed(action, "keyId is not 16 bytes", { field: "keyId" });
  if (r.signature.length !== SIGNATURE_BYTES) {
    throw malformed(action, "signature is not 64 bytes", { field: "signature" });
  }
}

/** Decodes a token's canonical message (strict, see the module comment). */
export function decodeEntitlement(bytes: Uint8Array): Entitlement {
  return strict(bytes, "entitlement", (r) => {
    const e: Entitlement = {
      version: r.u16(0),
      appId: text(r, 0, "appId"),
      sku: text(r, 1, "sku"),
      type: ordinal(TOKEN_TYPES, r.u16(2), "type"),
      deviceFp: toHex(data(r, 2, "deviceFp", 16)),
      audience: text(r, 3, "audience"),
      iat: int64(r, 8),
      nbf: int64(r, 16),
      exp: int64(r, 24),
      meta: structs(r.list(4)).map((m, i) => ({
        key: text(m, 0, `meta[${i}].key`),
        value: text(m, 1, `meta[${i}].value`),
      })),
    };
    checkEntitlement(e, "read entitlement");
    return [e, encodeCanonical(entitlementValue(e))];
  });
}

export function decodeStatusChange(bytes: Uint8Array): StatusChange {
  return strict(bytes, "status change", (r) => {
    const s: StatusChange = {
      version: r.u16(0),
      tokenId: toHex(data(r, 0, "tokenId", 32)),
      action: ordinal(STATUS_ACTIONS, r.u16(2), "action"),
      issuedAt: int64(r, 8),
      serial: uint64(r, 16),
      appId: text(r, 1, "appId"),
      sku: text(r, 2, "sku"),
      reason: text(r, 3, "reason"),
    };
    checkStatusChange(s, "read status change");
    return [s, encodeCanonical(statusChangeValue(s))];
  });
}

export function decodeSignedRecord(bytes: Uint8Array): SignedRecord {
  return strict(bytes, "licensing record", (r) => {
    const rec: SignedRecord = {
      kind: ordinal(RECORD_KINDS, r.u16(0), "kind"),
      body: r.data(0) ?? new Uint8Array(0),
      keyId: toHex(data(r, 1, "keyId", 16)),
      signature: data(r, 2, "signature", SIGNATURE_BYTES),
    };
    checkSignedRecord(rec, "read licensing record");
    return [rec, encodeCanonical(signedRecordValue(rec))];
  });
}

/** Reads `bytes`, then insists that re-encoding the values gives back exactly `bytes`. */
function strict<T>(
  bytes: Uint8Array,
  what: string,
  read: (root: StructReader) => [T, Uint8Array],
): T {
  const action = `read ${what}`;
  if (bytes.length > RECORD_MAX_BYTES) {
    throw malformed(action, `larger than ${RECORD_MAX_BYTES} bytes`, { size: bytes.length });
  }
  let value: T;
  let again: Uint8Array;
  try {
    [value, again] = read(new MessageReader(bytes, LIMITS).root());
  } catch (e) {
    if (e instanceof CapnpError) throw malformed(action, e.reason, e.details);
    throw e;
  }
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    throw malformed(action, "not in canonical form", { size: bytes.length });
  }
  return value;
}

function text(r: StructReader, i: number, field: string): string {
  const t = r.text(i);
  if (t === null) throw new CapnpError(`${field} is missing`, { field });
  return t;
}

function data(r: StructReader, i: number, field: string, length: number): Uint8Array {
  const d = r.data(i);
  if (d === null || d.length !== length) {
    throw new CapnpError(`${field} is not ${length} bytes`, { field, length: d?.length ?? 0 });
  }
  return d;
}

function int64(r: StructReader, offset: number): number {
  return Number(BigInt.asIntN(64, r.u64(offset)));
}

function uint64(r: StructReader, offset: number): number {
  return Number(r.u64(offset));
}

function ordinal<T>(values: readonly T[], n: number, field: string): T {
  if (n >= values.length) throw new CapnpError(`unknown ${field} value`, { field, ordinal: n });
  return values[n];
}

function structs(list: ListReader | null): StructReader[] {
  const out: StructReader[] = [];
  for (let i = 0; list !== null && i < list.length; i++) out.push(list.struct(i));
  return out;
}
