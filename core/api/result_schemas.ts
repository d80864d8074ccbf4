/**
 * Schemas of the results (results.ts), of a failure (failure.ts) and of the events a call
 * reports (events.ts), strict at every level: an unknown key is an error.
 */
import * as z from "zod";
import { ERROR_CODES } from "../errors.ts";
import { IndexEntrySchema, MigrationStepSchema } from "../bundle/mod.ts";
import { StrictManifestViewSchema } from "../bundle/view_schema.ts";
import type { ManifestView } from "../bundle/mod.ts";
import type { PolicyWarning, VerifiedBundle } from "../trust/mod.ts";
import {
  type Assert,
  AuditEntrySchema,
  type Equals,
  PermissionDiffSchema,
  PostStepSchema,
  StepSchema,
} from "./record_schemas.ts";
import type { ProgressEvent } from "./events.ts";
import { APP_STATES, OPERATIONS } from "./vocabulary.ts";
import type { ErrorValue } from "./failure.ts";
import type {
  AppInfo,
  AppSummary,
  DoctorReport,
  Finding,
  FindingKind,
  InitResult,
  InspectReport,
  OpResult,
  PathChange,
  RestoreReport,
} from "./results.ts";

export { StrictManifestViewSchema };

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

export const PathChangeSchema = z.strictObject({
  path: z.string(),
  size: z.number().int().nonnegative(),
  action: z.enum(["remove", "keep"]),
});

export const RestoreReportSchema = z.strictObject({
  source: z.enum(["bundle", "kept"]),
  missing: z.array(z.string()),
  changed: z.array(z.string()),
  unexpected: z.array(z.string()),
});

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
  paths: z.array(PathChangeSchema).optional(),
  restored: RestoreReportSchema.optional(),
});

export const AppSummarySchema = z.strictObject({
  id: z.string(),
  version,
  /** `broken`: the registry's state, but its `current` link does not lead to `version`. */
  state: z.enum([...APP_STATES, "broken"]),
  /** Why the state is `broken`, in one line. */
  problem: z.string().optional(),
  publisher: z.string(),
  bundleType: z.string(),
  sku: z.string().optional(),
  inactiveReason: z.enum(ERROR_CODES).optional(),
  /** Retained versions other than the active one. */
  retained: z.array(version),
  /** Bytes of every retained version's bundle content. */
  size: z.number().int().nonnegative(),
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
  dependencies: z.array(z.strictObject({ name: z.string(), versionConstraint: z.string() })),
  path: z.string(),
  dataPath: z.string(),
  files: z.array(IndexEntrySchema).optional(),
});

/** doctor's finding kinds (results.ts `FindingKind`; docs/transactions.md#doctor). */
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
  /** The version the finding is about (of `app`), when it is about one. */
  version: z.string().optional(),
  /** The next step, naming the exact command where there is one. */
  hint: z.string().optional(),
  /** Why `--repair` left this finding although it is repairable. */
  refused: z.string().optional(),
});

export const DoctorReportSchema = z.strictObject({
  ok: z.boolean(),
  apps: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  recovered: z.string().optional(),
  findings: z.array(FindingSchema),
  repaired: z.array(FindingSchema),
});

export const InitResultSchema = z.strictObject({
  root: z.string(),
  created: z.boolean(),
  publishers: z.number().int().nonnegative(),
});

export const InspectReportSchema = z.strictObject({
  path: z.string(),
  verified: z.boolean(),
  /** The stable code verification failed with (absent when verified). */
  code: z.string().optional(),
  message: z.string().optional(),
  bundle: VerifiedBundleSchema.optional(),
  claimed: z.strictObject({ name: z.string(), version: z.string() }).optional(),
});

/** A failed call (failure.ts `ErrorValue`). */
export const ErrorValueSchema = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  hint: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** One event a call reports while it runs (events.ts `ProgressEvent`). */
export const EventSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("marker"), text: z.string() }),
  z.strictObject({ kind: z.literal("warning"), code: z.string(), message: z.string() }),
  z.strictObject({
    kind: z.literal("progress"),
    phase: z.string(),
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
  }),
]);

type _Results = [
  Assert<Equals<z.infer<typeof StrictManifestViewSchema>, ManifestView>>,
  Assert<Equals<z.infer<typeof PolicyWarningSchema>, PolicyWarning>>,
  Assert<Equals<z.infer<typeof VerifiedBundleSchema>, VerifiedBundle>>,
  Assert<Equals<z.infer<typeof OpResultSchema>, OpResult>>,
  Assert<Equals<z.infer<typeof AppSummarySchema>, AppSummary>>,
  Assert<Equals<z.infer<typeof AppInfoSchema>, AppInfo>>,
  Assert<Equals<(typeof FINDING_KINDS)[number], FindingKind>>,
  Assert<Equals<z.infer<typeof FindingSchema>, Finding>>,
  Assert<Equals<z.infer<typeof DoctorReportSchema>, DoctorReport>>,
  Assert<Equals<z.infer<typeof InspectReportSchema>, InspectReport>>,
  Assert<Equals<z.infer<typeof InitResultSchema>, InitResult>>,
  Assert<Equals<z.infer<typeof PathChangeSchema>, PathChange>>,
  Assert<Equals<z.infer<typeof RestoreReportSchema>, RestoreReport>>,
  Assert<Equals<z.infer<typeof ErrorValueSchema>, ErrorValue>>,
  Assert<Equals<z.infer<typeof EventSchema>, ProgressEvent>>,
];
