/**
 * The `--json` `data` the CLI prints where it is not a method's result as it stands: the
 * wrappers of list-like results (`list` → `{apps}`), and the results of `pack` and `keygen`,
 * which touch no state root and are not methods of the contract.
 */
import * as z from "zod";
import { AppSummarySchema, AuditEntrySchema, QueryHitSchema } from "../api/mod.ts";
import { PublisherSchema } from "../trust/mod.ts";

export const AppSummaryListSchema = z.strictObject({ apps: z.array(AppSummarySchema) });
export const AuditEntryListSchema = z.strictObject({ entries: z.array(AuditEntrySchema) });
export const QueryHitListSchema = z.strictObject({ hits: z.array(QueryHitSchema) });
export const PublisherListSchema = z.strictObject({ publishers: z.array(PublisherSchema) });

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
