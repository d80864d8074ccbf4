/**
 * The store catalog (`catalog.toml` + detached `catalog.toml.sig`): which skus a store sells,
 * at what price, and the bundle each installs, pinned by the SHA-256 of the bundle's signed
 * index. The signature is checked first, over the exact file bytes, then the content (TOML,
 * a strict schema); every failure is `store.catalog_invalid`.
 */

import { parse as parseToml } from "smol-toml";
import * as z from "zod/mini";
import { concatBytes } from "../bytes/mod.ts";
import { NxError } from "../errors.ts";
import { hexString, topIssue } from "../schema/mod.ts";
import { APP_ID } from "../bundle/mod.ts";
import { fingerprint, verifyStrict } from "../trust/mod.ts";
import { SKU_ID } from "./fields.ts";
import { TOKEN_TYPES } from "./types.ts";

export const CATALOG_FILE = "catalog.toml";
export const CATALOG_SIG_FILE = "catalog.toml.sig";
export const CATALOG_VERSION = 1;
/** Largest catalog accepted, checked before parsing. */
export const CATALOG_MAX_BYTES = 64 * 1024;
/** Domain separation: the signed message is this ‖ the exact bytes of catalog.toml. */
export const CATALOG_SIGNING_CONTEXT = "nx-store-catalog-v1\0";

/** A relative path below the fixtures dir, no `.`/`..` segments, naming a `.nxb`. */
const BUNDLE_PATH = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*\.nxb$/;

const matching = (pattern: RegExp) => z.string().check(z.regex(pattern));

const SkuFileSchema = z.strictObject({
  id: matching(SKU_ID),
  grants: z.optional(matching(SKU_ID)),
  app: matching(APP_ID),
  title: z.string().check(z.minLength(1), z.maxLength(128)),
  price: matching(/^(?:0|[1-9][0-9]{0,8})\.[0-9]{2}$/),
  currency: matching(/^[A-Z]{3}$/),
  type: z.enum(TOKEN_TYPES),
  days: z.int().check(z.gte(1), z.lte(3650)),
  bundle: matching(BUNDLE_PATH),
  bundle_index_sha256: hexString(32),
});

const CatalogFileSchema = z.strictObject({
  version: z.literal(CATALOG_VERSION),
  store: matching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
  key: hexString(16),
  sku: z.array(SkuFileSchema).check(z.minLength(1), z.maxLength(256)),
});

export interface CatalogSku {
  /** What is bought (`nx store buy <id>`). */
  id: string;
  /**
   * The sku the issued token carries — the bundle manifest's `sku` — when it differs from `id`
   * (a trial offer of a paid sku); see {@link grantedSku}.
   */
  grants?: string;
  app: string;
  title: string;
  /** Decimal text with two places, e.g. "4.99". */
  price: string;
  currency: string;
  type: (typeof TOKEN_TYPES)[number];
  /** Validity of the token a purchase issues, in days. */
  days: number;
  /** The bundle directory, relative to the catalog's base (the fixtures dir). */
  bundle: string;
  /** 64 hex: SHA-256 of the bundle's meta/index.json. */
  bundleIndexSha256: string;
}

export interface Catalog {
  version: number;
  store: string;
  /** 32 hex: id of the key that signed the catalog (and the tokens it issues). */
  key: string;
  skus: CatalogSku[];
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The Ed25519 message of a catalog: context ‖ the file's exact bytes. */
export function catalogSigningMessage(tomlBytes: Uint8Array): Uint8Array {
  return concatBytes([utf8.encode(CATALOG_SIGNING_CONTEXT), tomlBytes]);
}

function invalid(reason: string, details: Record<string, unknown> = {}): NxError {
  return new NxError("store.catalog_invalid", `cannot read store catalog: ${reason}`, {
    hint: "the catalog must be the store's signed catalog.toml with its catalog.toml.sig: " +
      "regenerate the fixtures (`deno task fixtures`) or fetch both files again",
    details,
  });
}

/** Verifies and parses a catalog against the store key the root trusts. */
export function parseCatalog(
  tomlBytes: Uint8Array,
  sigBytes: Uint8Array,
  trustedKey: Uint8Array,
): Catalog {
  if (tomlBytes.length > CATALOG_MAX_BYTES) {
    throw invalid("the file is too large", { size: tomlBytes.length, limit: CATALOG_MAX_BYTES });
  }
  // trust: the signature covers every byte, so a tampered price or bundle pin fails here.
  const signed = sigBytes.length === 64 &&
    verifyStrict(sigBytes, catalogSigningMessage(tomlBytes), trustedKey);
  if (!signed) {
    throw invalid("the signature does not verify", { keyId: fingerprint(trustedKey) });
  }
  let raw: unknown;
  try {
    raw = parseToml(strictUtf8.decode(tomlBytes));
  } catch (e) {
    throw invalid(`not valid TOML: ${e instanceof Error ? e.message.split("\n")[0] : e}`);
  }
  const parsed = CatalogFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = topIssue(parsed.error);
    throw invalid(`${issue.path.join(".") || "(top)"}: ${issue.message}`, {
      field: issue.path.join("."),
    });
  }
  const file = parsed.data;
  if (file.key !== fingerprint(trustedKey)) {
    throw invalid("the catalog names another signing key", { key: file.key });
  }
  const ids = new Set<string>();
  for (const s of file.sku) {
    if (ids.has(s.id)) throw invalid(`sku ${s.id} is listed twice`, { sku: s.id });
    ids.add(s.id);
  }
  return {
    version: file.version,
    store: file.store,
    key: file.key,
    skus: file.sku.map(({ bundle_index_sha256, ...s }) => ({
      ...s,
      bundleIndexSha256: bundle_index_sha256,
    })),
  };
}

/** The manifest sku a purchase of `entry` entitles: its `grants`, else its own id. */
export function grantedSku(entry: CatalogSku): string {
  return entry.grants ?? entry.id;
}
