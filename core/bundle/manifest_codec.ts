/**
 * `manifest.nxb` ⇄ {@link Manifest}: the Cap'n Proto `BundleManifest` (fixtures/schema/
 * manifest.capnp, NEXUS_FORMATS.md §2).
 *
 * Encoding is deterministic: one segment, objects in pre-order, the same bytes `capnp encode`
 * writes for the same values (pinned by manifest_oracle_test.ts). Empty lists and empty Data
 * are written as null pointers; `undefined` Text/Data as null pointers; "" as a one-byte Text
 * (just the NUL). The root has 14 pointers, as upstream's, unless `sku` is set (15).
 *
 * Decoding is bounded (see capnp/wire.ts) and every malformed input throws
 * `manifest.decode_error`. Null pointers decode to: absent key (name, semver, minSdk,
 * publisher, signature, sku), empty bytes (the three digests), `[]` (lists), "" (Text inside
 * list elements). A non-null zero-length Data written by another encoder decodes to empty bytes,
 * also for publisher/signature, so validation reports its length rather than its absence.
 */

import { NxError } from "../errors.ts";
import {
  CapnpError,
  type ListReader,
  MessageBuilder,
  MessageReader,
  type StructReader,
} from "./capnp/mod.ts";
import {
  BUNDLE_TYPES,
  type Dependency,
  type ExportDecl,
  type Manifest,
  PAYLOAD_KINDS,
  type Resource,
  RESOURCE_KINDS,
} from "./manifest_types.ts";

/** Upstream's cap on manifest.nxb (NEXUS_FORMATS.md §4). */
export const MANIFEST_MAX_BYTES = 64 * 1024;

const DATA_WORDS = 2;
const PTRS_UPSTREAM = 14;
const PTRS_WITH_SKU = 15;

// Data section byte offsets.
const SCHEMA_VERSION = 0; // UInt8, default 1, stored XOR 1
const BUNDLE_TYPE = 2; // UInt16
const PAYLOAD_KIND = 4; // UInt16
const PAYLOAD_SIZE = 8; // UInt64

// Pointer indexes.
const P = {
  name: 0,
  semver: 1,
  abilities: 2,
  capabilities: 3,
  minSdk: 4,
  publisher: 5,
  signature: 6,
  payloadDigest: 7,
  sbomDigest: 8,
  reproDigest: 9,
  dependencies: 10,
  providedServices: 11,
  resources: 12,
  exports: 13,
  sku: 14,
} as const;

const U64_MAX = (1n << 64n) - 1n;

/** Encodes a manifest as an unpacked single-segment Cap'n Proto message. */
export function encodeManifest(m: Manifest): Uint8Array {
  if (!Number.isInteger(m.schemaVersion) || m.schemaVersion < 0 || m.schemaVersion > 255) {
    throw invalid("schemaVersion", "must be an integer in 0..255");
  }
  if (typeof m.payloadSize !== "bigint" || m.payloadSize < 0n || m.payloadSize > U64_MAX) {
    throw invalid("payloadSize", "must fit in an unsigned 64-bit integer");
  }
  const msg = new MessageBuilder();
  const root = msg.initRoot(DATA_WORDS, m.sku === undefined ? PTRS_UPSTREAM : PTRS_WITH_SKU);
  root.setU8(SCHEMA_VERSION, m.schemaVersion ^ 1);
  root.setU16(BUNDLE_TYPE, ordinal(BUNDLE_TYPES, m.bundleType, "bundleType"));
  root.setU16(PAYLOAD_KIND, ordinal(PAYLOAD_KINDS, m.payloadKind, "payloadKind"));
  root.setU64(PAYLOAD_SIZE, m.payloadSize);
  root.setText(P.name, m.name);
  root.setText(P.semver, m.semver);
  root.setTextList(P.abilities, m.abilities);
  root.setTextList(P.capabilities, m.capabilities);
  root.setText(P.minSdk, m.minSdk);
  root.setData(P.publisher, m.publisher);
  root.setData(P.signature, m.signature);
  root.setData(P.payloadDigest, m.payloadDigest);
  root.setData(P.sbomDigest, m.sbomDigest);
  root.setData(P.reproDigest, m.reproDigest);
  root.initStructList(P.dependencies, m.dependencies.length, 0, 2).forEach((s, i) => {
    s.setText(0, m.dependencies[i].name);
    s.setText(1, m.dependencies[i].versionConstraint);
  });
  root.setTextList(P.providedServices, m.providedServices);
  root.initStructList(P.resources, m.resources.length, 1, 1).forEach((s, i) => {
    s.setText(0, m.resources[i].path);
    s.setU16(0, ordinal(RESOURCE_KINDS, m.resources[i].kind, "resources.kind"));
  });
  root.initStructList(P.exports, m.exports.length, 0, 2).forEach((s, i) => {
    s.setText(0, m.exports[i].ability);
    s.setText(1, m.exports[i].permission);
  });
  root.setText(P.sku, m.sku);
  const bytes = msg.toBytes();
  if (bytes.length > MANIFEST_MAX_BYTES) {
    throw new NxError("bundle.too_large", "cannot encode manifest: larger than 64 KiB", {
      details: { file: "manifest.nxb", size: bytes.length, limit: MANIFEST_MAX_BYTES },
    });
  }
  return bytes;
}

/** Decodes `manifest.nxb` bytes; any malformed input throws `manifest.decode_error`. */
export function decodeManifest(bytes: Uint8Array): Manifest {
  try {
    return read(new MessageReader(bytes).root());
  } catch (e) {
    if (e instanceof CapnpError) {
      throw new NxError("manifest.decode_error", `cannot decode manifest: ${e.reason}`, {
        details: e.details,
        cause: e,
      });
    }
    throw e;
  }
}

function read(r: StructReader): Manifest {
  const m: Manifest = {
    schemaVersion: r.u8(SCHEMA_VERSION) ^ 1,
    abilities: texts(r.list(P.abilities)),
    capabilities: texts(r.list(P.capabilities)),
    payloadDigest: r.data(P.payloadDigest) ?? new Uint8Array(0),
    payloadSize: r.u64(PAYLOAD_SIZE),
    sbomDigest: r.data(P.sbomDigest) ?? new Uint8Array(0),
    reproDigest: r.data(P.reproDigest) ?? new Uint8Array(0),
    bundleType: enumAt(BUNDLE_TYPES, r.u16(BUNDLE_TYPE), "bundleType"),
    dependencies: structs(r.list(P.dependencies), (s): Dependency => ({
      name: s.text(0) ?? "",
      versionConstraint: s.text(1) ?? "",
    })),
    providedServices: texts(r.list(P.providedServices)),
    resources: structs(r.list(P.resources), (s): Resource => ({
      path: s.text(0) ?? "",
      kind: enumAt(RESOURCE_KINDS, s.u16(0), "resources.kind"),
    })),
    payloadKind: enumAt(PAYLOAD_KINDS, r.u16(PAYLOAD_KIND), "payloadKind"),
    exports: structs(r.list(P.exports), (s): ExportDecl => ({
      ability: s.text(0) ?? "",
      permission: s.text(1) ?? "",
    })),
  };
  // Absent optional fields are left out of the object rather than set to undefined.
  const name = r.text(P.name);
  if (name !== null) m.name = name;
  const semver = r.text(P.semver);
  if (semver !== null) m.semver = semver;
  const minSdk = r.text(P.minSdk);
  if (minSdk !== null) m.minSdk = minSdk;
  const publisher = r.data(P.publisher);
  if (publisher !== null) m.publisher = publisher;
  const signature = r.data(P.signature);
  if (signature !== null) m.signature = signature;
  const sku = r.text(P.sku);
  if (sku !== null) m.sku = sku;
  return m;
}

function texts(list: ListReader | null): string[] {
  const out: string[] = [];
  for (let i = 0; list !== null && i < list.length; i++) out.push(list.text(i) ?? "");
  return out;
}

function structs<T>(list: ListReader | null, f: (s: StructReader) => T): T[] {
  const out: T[] = [];
  for (let i = 0; list !== null && i < list.length; i++) out.push(f(list.struct(i)));
  return out;
}

function enumAt<T>(values: readonly T[], ordinal: number, field: string): T {
  if (ordinal >= values.length) {
    throw new CapnpError("enum ordinal out of range", { field, ordinal, max: values.length - 1 });
  }
  return values[ordinal];
}

function ordinal<T>(values: readonly T[], value: T, field: string): number {
  const i = values.indexOf(value);
  if (i < 0) throw invalid(field, `unknown value ${JSON.stringify(value)}`);
  return i;
}

function invalid(field: string, reason: string): NxError {
  return new NxError(
    "manifest.invalid_field",
    `cannot encode manifest: invalid field \`${field}\`: ${reason}`,
    {
      details: { field },
    },
  );
}
