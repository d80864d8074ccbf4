/**
 * The `--json` `data` the CLI prints where it is not a method's result as it stands: the
 * wrappers of list-like results (`list` → `{apps}`), the results of `pack` and `keygen`, which
 * touch no state root and are not methods of the contract, and those of `nx store`, whose verbs
 * are the host's store calling several methods.
 */
import * as z from "zod";
import {
  AppSummarySchema,
  AuditEntrySchema,
  ImportResultSchema,
  OpResultSchema,
  QueryHitSchema,
  StoreKeyViewSchema,
} from "../api/mod.ts";
import type { Catalog } from "../entitlement/mod.ts";
import { PublisherSchema } from "../trust/mod.ts";

export const AppSummaryListSchema = z.strictObject({ apps: z.array(AppSummarySchema) });
export const AuditEntryListSchema = z.strictObject({ entries: z.array(AuditEntrySchema) });
export const QueryHitListSchema = z.strictObject({ hits: z.array(QueryHitSchema) });
export const PublisherListSchema = z.strictObject({ publishers: z.array(PublisherSchema) });
export const StoreKeyListSchema = z.strictObject({ stores: z.array(StoreKeyViewSchema) });

/** `nx store catalog`: the verified catalog (docs/licensing.md#the-store-catalog). */
export const CatalogSchema = z.strictObject({
  version: z.literal(1),
  store: z.string(),
  key: z.string(),
  skus: z.array(z.strictObject({
    id: z.string(),
    grants: z.string().optional(),
    app: z.string(),
    title: z.string(),
    price: z.string(),
    currency: z.string(),
    type: z.enum(["full", "trial"]),
    days: z.number().int(),
    bundle: z.string(),
    bundleIndexSha256: z.string(),
  })),
});
type _Catalog = [Catalog extends z.infer<typeof CatalogSchema> ? true : never];

/** `nx store buy`: the import of the purchase's token, then the install (null: not installed). */
export const StoreBuySchema = z.strictObject({
  sku: z.string(),
  appId: z.string(),
  imported: ImportResultSchema,
  installed: OpResultSchema.nullable(),
  /** The bundle to install, when the purchase did not install it. */
  bundle: z.string().optional(),
});

/** `nx pkg pack`: what was built where. */
export const PackResultSchema = z.strictObject({
  name: z.string(),
  version: z.string(),
  out: z.string(),
  publisher: z.string(),
  scheme: z.enum(["nx-index", "payload-only"]),
  files: z.array(z.strictObject({ path: z.string(), size: z.number().int().nonnegative() })),
});
export type PackResult = z.infer<typeof PackResultSchema>;

/** `nx pkg keygen`: the new publisher id and the paths of the two key files. */
export const KeygenResultSchema = z.strictObject({
  name: z.string(),
  publisher: z.string(),
  secretKey: z.string(),
  publicKey: z.string(),
});
export type KeygenResult = z.infer<typeof KeygenResultSchema>;
