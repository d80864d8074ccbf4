/**
 * The plan as data: zod schemas of its registry records and of the plan itself, strict at every
 * level. The step schemas are the contract's (core/api/record_schemas.ts); the journal
 * (core/apply/journal.ts) parses its plan with {@link PlanSchema}, so every value recovery turns
 * into a path is held to the grammar nx generates it from and fits the file system's name limit.
 */
import * as z from "zod";
import {
  type AppRecord,
  PathChangeSchema,
  PermissionDiffSchema,
  PostStepSchema,
  RestoreReportSchema,
  StepSchema,
  VersionNameSchema,
  type VersionRecord,
} from "../api/mod.ts";
import { APP_STATES, OPERATIONS, SCHEMES } from "../api/vocabulary.ts";
import {
  APP_ID,
  BUNDLE_TYPES,
  IndexEntrySchema,
  isSafeRelativePath,
  utf8Length,
} from "../bundle/mod.ts";
import { StrictManifestViewSchema } from "../bundle/view_schema.ts";
import type { Plan } from "./types.ts";

/**
 * A transaction id as nx makes them (core/pkgr/service.ts newTxid): the reference time in
 * base-36 milliseconds (at most 11 digits up to 2^53), `-`, 4 random bytes in hex. It names
 * `pkg/staging/<txid>/` and the temp link `current.<txid>.tmp`.
 */
export const TXID = /^[0-9a-z]{1,11}-[0-9a-f]{8}$/;
/** PATH_MAX of Linux: bytes of a whole path, NUL included. */
const PATH_MAX = 4096;

const version = VersionNameSchema;
export const AppIdSchema = z.string().regex(APP_ID);

/** One retained version as the registry holds it (core/registry/types.ts `VersionRecord`). */
export const VersionRecordSchema = z.strictObject({
  version,
  size: z.number().int().nonnegative(),
  files: z.array(
    IndexEntrySchema.check(z.refine((f) => isSafeRelativePath(f.path), "unsafe path")),
  ),
  manifest: StrictManifestViewSchema,
  scheme: z.enum(SCHEMES),
  installedAt: z.string(),
}).refine((v) => v.manifest.version === v.version, "the manifest is of another version");

/** An app's registry record (core/registry/types.ts `AppRecord`), with the invariants the
 * registry relies on: the active version is retained, no version is listed twice. */
export const AppRecordSchema = z.strictObject({
  id: AppIdSchema,
  version,
  state: z.enum(APP_STATES),
  publisher: z.string().regex(/^[0-9a-f]{32}$/),
  bundleType: z.enum(BUNDLE_TYPES),
  sku: z.string().optional(),
  versions: z.array(VersionRecordSchema).min(1),
  lastDiff: PermissionDiffSchema.optional(),
  installedAt: z.string(),
  updatedAt: z.string(),
}).refine(
  (r) => r.versions.some((v) => v.version === r.version),
  "the active version is not retained",
)
  .refine(
    (r) => new Set(r.versions.map((v) => v.version)).size === r.versions.length,
    "a version is listed twice",
  )
  .refine((r) => r.versions.every((v) => v.manifest.name === r.id), "a manifest is of another app");

/** The whole plan (core/plan/types.ts `Plan`), as the journal's first line carries it. */
export const PlanSchema = z.strictObject({
  txid: z.string().regex(TXID),
  op: z.enum(OPERATIONS),
  appId: AppIdSchema,
  fromVersion: version.nullable(),
  toVersion: version.nullable(),
  source: z.string().refine(
    (s) => s.startsWith("/") && !s.includes("\0") && utf8Length(s) < PATH_MAX,
    "must be an absolute path",
  ).optional(),
  steps: z.array(StepSchema),
  post: z.array(PostStepSchema),
  before: AppRecordSchema.optional(),
  after: AppRecordSchema.optional(),
  diff: PermissionDiffSchema.optional(),
  paths: z.array(PathChangeSchema).optional(),
  restored: RestoreReportSchema.optional(),
}).superRefine((plan, ctx) => {
  const fail = (message: string) => ctx.addIssue({ code: "custom", message });
  // commit-registry's undo writes `before` back: it must be this app's record.
  for (const record of [plan.before, plan.after]) {
    if (record && record.id !== plan.appId) {
      fail(`a record of ${record.id} in a plan for ${plan.appId}`);
    }
  }
  // stage-version copies `source` with the file list of the new record.
  if (plan.steps.some((s) => s.kind === "stage-version") && (!plan.source || !plan.after)) {
    fail("stage-version without a source and a new record");
  }
  // gc-versions deletes versions/<v> and data/<v>: never one the new record retains.
  const retained = new Set(plan.after?.versions.map((v) => v.version));
  for (const step of plan.post) {
    if (step.kind === "gc-versions" && step.versions.some((v) => retained.has(v))) {
      fail("gc-versions collects a retained version");
    }
  }
});

// Compile-time agreement with the TypeScript types (core/api asserts the steps and the diff
// exactly): what the schemas accept is a value of the type.
type Extends<A, B> = [A] extends [B] ? true : false;
type Assert<T extends true> = T;
type _Types = [
  Assert<Extends<z.infer<typeof PlanSchema>, Plan>>,
  Assert<Extends<z.infer<typeof AppRecordSchema>, AppRecord>>,
  Assert<Extends<z.infer<typeof VersionRecordSchema>, VersionRecord>>,
];
