/**
 * What an offline store does with its catalog, all pure: write and sign it, look a sku up,
 * check a bundle against its pin, and turn a purchase into the token fields it issues.
 */

import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { sign } from "../trust/mod.ts";
import { type Catalog, catalogSigningMessage, type CatalogSku, grantedSku } from "./catalog.ts";
import { type Entitlement, LICENSING_AUDIENCE, RECORD_VERSION } from "./types.ts";

const DAY_SECONDS = 86_400;

/** The catalog as TOML text, fields in a fixed order (the bytes the store signs). */
export function formatCatalog(c: Catalog): string {
  const q = JSON.stringify;
  const lines = [`version = ${c.version}`, `store = ${q(c.store)}`, `key = ${q(c.key)}`];
  for (const s of c.skus) {
    lines.push(
      "",
      "[[sku]]",
      `id = ${q(s.id)}`,
      ...(s.grants !== undefined ? [`grants = ${q(s.grants)}`] : []),
      `app = ${q(s.app)}`,
      `title = ${q(s.title)}`,
      `price = ${q(s.price)}`,
      `currency = ${q(s.currency)}`,
      `type = ${q(s.type)}`,
      `days = ${s.days}`,
      `bundle = ${q(s.bundle)}`,
      `bundle_index_sha256 = ${q(s.bundleIndexSha256)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/** The detached signature (64 raw bytes) of catalog bytes by the store key `seed`. */
export function signCatalog(tomlBytes: Uint8Array, seed: Uint8Array): Uint8Array {
  return sign(catalogSigningMessage(tomlBytes), seed);
}

/** The catalog's entry for `sku`, or `store.unknown_sku`. */
export function findSku(catalog: Catalog, sku: string): CatalogSku {
  const entry = catalog.skus.find((s) => s.id === sku);
  if (entry === undefined) {
    throw new NxError("store.unknown_sku", `cannot find sku ${sku}: not in the store catalog`, {
      hint: "`nx store catalog` lists the skus the store sells",
      details: { sku, store: catalog.store, skus: catalog.skus.map((s) => s.id) },
    });
  }
  return entry;
}

/** SHA-256 hex of a bundle's meta/index.json: what a catalog entry pins. */
export function bundleIndexDigest(indexBytes: Uint8Array): string {
  return createHash("sha256").update(indexBytes).digest("hex");
}

/** Throws `store.bundle_mismatch` unless `indexBytes` are the index the entry pins. */
export function checkBundlePin(entry: CatalogSku, indexBytes: Uint8Array): void {
  const actual = bundleIndexDigest(indexBytes);
  if (actual !== entry.bundleIndexSha256) {
    throw new NxError(
      "store.bundle_mismatch",
      `cannot install sku ${entry.id}: the bundle is not the one the catalog names`,
      {
        hint: "the bundle was rebuilt or replaced after the catalog was signed: regenerate the " +
          "store catalog (`deno task fixtures`) or use the catalog's bundle",
        details: {
          sku: grantedSku(entry),
          bundle: entry.bundle,
          expected: entry.bundleIndexSha256,
          actual,
        },
      },
    );
  }
}

/** The token fields a purchase of `entry` issues for `deviceFp` at `now` (Unix seconds). */
export function entitlementFor(
  catalog: Catalog,
  entry: CatalogSku,
  deviceFp: string,
  now: number,
): Entitlement {
  return {
    version: RECORD_VERSION,
    appId: entry.app,
    sku: grantedSku(entry),
    type: entry.type,
    deviceFp,
    audience: LICENSING_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + entry.days * DAY_SECONDS,
    meta: [{ key: "store", value: catalog.store }],
  };
}
