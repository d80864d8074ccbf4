/** The Pkgr protocol: result schemas, and the CLI's wrappers of list-like results. */
import { z } from "zod";
import { ERROR_CODES } from "../errors.ts";
import { IndexEntrySchema, MigrationStepSchema, StrictManifestViewSchema } from "../bundle/mod.ts";
import {
  APP_STATES,
  OPERATIONS,
  PermissionDiffSchema,
  PostStepSchema,
  StepSchema,
} from "../plan/mod.ts";
import { PublisherSchema } from "../trust/mod.ts";
import type { PkgrMethod } from "./pkgr_requests.ts";

// The manifest view (core/bundle/validate.ts) and the plan's steps (core/plan/schema.ts), strict
// at every level, are defined beside their types and published here with the results.
export {
  APP_STATES,
  OPERATIONS,
  PermissionDiffSchema,
  PostStepSchema,
  StepSchema,
  StrictManifestViewSchema,
};

// ---------------------------------------------------------------------------------------------
// Results.

export const PolicyWarningSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
});

export const VerifiedBundleSchema = z.strictObject({
  manifest: StrictManifestViewSchema,
  scheme: z.enum(["nx-index", "payload-only"]),
  signer: z.strictObject({
    publisher: z.string(),
    /** Fingerprint of the signing key; "" when no trusted key was found. */
    key: z.string(),
    trusted: z.boolean(),
  }),
  files: z.array(IndexEntrySchema),
  totalSize: z.number().int().nonnegative(),
  migrations: z.array(MigrationStepSchema),
  warnings: z.array(PolicyWarningSchema),
});

const version = z.string();

export const OpResultSchema = z.strictObject({
  op: z.enum(OPERATIONS),
  appId: z.string(),
  fromVersion: version.nullable(),
  toVersion: version.nullable(),
  dryRun: z.boolean(),
  steps: z.array(StepSchema),
  post: z.array(PostStepSchema),
  diff: PermissionDiffSchema.optional(),
  warnings: z.array(z.strictObject({ code: z.string(), message: z.string() })),
});

export const AppSummarySchema = z.strictObject({
  id: z.string(),
  version,
  state: z.enum(APP_STATES),
  publisher: z.string(),
  bundleType: z.string(),
  sku: z.string().optional(),
  /** Retained versions other than the active one. */
  retained: z.array(version),
  /** Bytes of every retained version's bundle content. */
  size: z.number().int().nonnegative(),
});

export const AuditEntrySchema = z.strictObject({
  seq: z.number().int().optional(),
  time: z.string(),
  op: z.enum(["install", "upgrade", "rollback", "uninstall", "recover", "repair"]),
  appId: z.string(),
  fromVersion: version.optional(),
  toVersion: version.optional(),
  /** "ok" or a stable error code. */
  result: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const AppInfoSchema = AppSummarySchema.extend({
  dataSize: z.number().int().nonnegative(),
  capabilities: z.array(z.string()),
  abilities: z.array(z.string()),
  exports: z.array(z.strictObject({ ability: z.string(), permission: z.string() })),
  lastDiff: PermissionDiffSchema.optional(),
  installedAt: z.string(),
  updatedAt: z.string(),
  history: z.array(AuditEntrySchema),
});

export const QueryHitSchema = z.strictObject({
  appId: z.string(),
  version,
  state: z.enum(APP_STATES),
  /** The matching ability, capability or export permission. */
  match: z.string(),
});

/** doctor's finding kinds (core/pkgr/doctor/types.ts; docs/transactions.md#doctor). */
export const FINDING_KINDS = [
  "staging-leftover",
  "temp-leftover",
  "app-dir-missing",
  "current-mismatch",
  "version-missing",
  "file-missing",
  "file-unexpected",
  "file-digest-mismatch",
  "data-missing",
  "version-orphan",
  "data-orphan",
  "app-orphan",
  "unsafe-link",
  "special-file",
  "unsafe-mode",
  "foreign-owner",
  "hard-link",
  "stray-entry",
  "registry-missing",
  "version-unverified",
] as const;

export const FindingSchema = z.strictObject({
  kind: z.enum(FINDING_KINDS),
  app: z.string().optional(),
  path: z.string(),
  message: z.string(),
  repairable: z.boolean(),
  /** The stable error code behind the finding (a verification failure, `registry.missing`). */
  code: z.enum(ERROR_CODES).optional(),
  /** On the entries of `repaired`: what `--repair` did. */
  action: z.string().optional(),
});

export const DoctorReportSchema = z.strictObject({
  ok: z.boolean(),
  apps: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  recovered: z.string().optional(),
  findings: z.array(FindingSchema),
  repaired: z.array(FindingSchema),
});

export const InspectReportSchema = z.strictObject({
  path: z.string(),
  verified: z.boolean(),
  /** The stable code verification failed with (absent when verified). */
  code: z.string().optional(),
  message: z.string().optional(),
  bundle: VerifiedBundleSchema.optional(),
});

export const PackResultSchema = z.strictObject({
  name: z.string(),
  version,
  out: z.string(),
  publisher: z.string(),
  scheme: z.enum(["nx-index", "payload-only"]),
  files: z.array(z.strictObject({ path: z.string(), size: z.number().int().nonnegative() })),
});

export const KeygenResultSchema = z.strictObject({
  name: z.string(),
  publisher: z.string(),
  secretKey: z.string(),
  publicKey: z.string(),
});

/** What each Pkgr method resolves to, keyed by method name. */
export const PKGR_RESULT_SCHEMAS = {
  verify: VerifiedBundleSchema,
  install: OpResultSchema,
  upgrade: OpResultSchema,
  rollback: OpResultSchema,
  uninstall: OpResultSchema,
  list: z.array(AppSummarySchema),
  info: AppInfoSchema,
  history: z.array(AuditEntrySchema),
  query: z.array(QueryHitSchema),
} as const satisfies Record<PkgrMethod, z.ZodType>;

// ---------------------------------------------------------------------------------------------
// `--json` data where the CLI wraps a Pkgr result (list, history, query) or has no Pkgr method.

export const AppSummaryListSchema = z.strictObject({ apps: z.array(AppSummarySchema) });
export const AuditEntryListSchema = z.strictObject({ entries: z.array(AuditEntrySchema) });
export const QueryHitListSchema = z.strictObject({ hits: z.array(QueryHitSchema) });
export const PublisherListSchema = z.strictObject({ publishers: z.array(PublisherSchema) });
