/**
 * Schemas of the domain records (records.ts), strict at every level: a plan's steps, the
 * permission diff, an audit entry, a query hit. The journal (core/plan PlanSchema) holds its
 * steps to these same schemas, so every value recovery turns into a path follows the grammar nx
 * generates it from and fits the file system's name limit.
 */
import * as z from "zod";
import { isSafeRelativePath, MigrationStepSchema, NAME_MAX } from "../bundle/mod.ts";
import { isStrictSemver } from "../version/mod.ts";
import type {
  AppState,
  AuditActor,
  AuditEntry,
  AuditOp,
  Operation,
  PermissionDiff,
  PostStep,
  QueryHit,
  RegistryQuery,
  Step,
} from "./records.ts";
import { APP_STATES, AUDIT_OPS, OPERATIONS } from "./vocabulary.ts";

/** A version as it becomes `versions/<ver>` and `data/<ver>`: strict SemVer (ASCII, no `/`,
 * never `.` or `..`) that fits one path component. Kept data a reinstall found on disk may use
 * all of NAME_MAX; verification holds new bundles to MANIFEST_NAME_MAX. */
export const VersionNameSchema = z.string().refine(
  (v) => isStrictSemver(v) && v.length <= NAME_MAX,
  `must be strict SemVer of at most ${NAME_MAX} characters`,
);
const version = VersionNameSchema;
const relativePath = z.string().refine(isSafeRelativePath, "must be a safe relative path");
const nonEmpty = z.string().min(1);

/** Pre-commit steps (records.ts `Step`). */
export const StepSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("create-app-dir") }),
  z.strictObject({ kind: z.literal("retire-version"), version }),
  z.strictObject({ kind: z.literal("stage-version"), version }),
  z.strictObject({ kind: z.literal("prepare-data"), from: version.nullable() }),
  z.strictObject({ kind: z.literal("run-migrations"), chain: z.array(MigrationStepSchema) }),
  z.strictObject({ kind: z.literal("publish-version"), version }),
  z.strictObject({ kind: z.literal("publish-data"), version }),
  z.strictObject({ kind: z.literal("switch-current"), to: version, from: version.nullable() }),
  z.strictObject({ kind: z.literal("commit-registry") }),
  z.strictObject({ kind: z.literal("detach-app"), keepData: z.boolean() }),
  z.strictObject({ kind: z.literal("verify-staged"), version }),
  z.strictObject({ kind: z.literal("retire-files"), version }),
  z.strictObject({ kind: z.literal("detach-data") }),
  z.strictObject({ kind: z.literal("create-data"), versions: z.array(version) }),
]);

/** Post-commit steps (records.ts `PostStep`). */
export const PostStepSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("gc-versions"), versions: z.array(version) }),
  z.strictObject({ kind: z.literal("warm-icon-cache"), version, icon: relativePath }),
  z.strictObject({ kind: z.literal("drop-icon-cache") }),
  z.strictObject({ kind: z.literal("notify-registry") }),
  z.strictObject({ kind: z.literal("purge-staging") }),
]);

export const PermissionDiffSchema = z.strictObject({
  from: version.nullable(),
  to: version,
  added: z.array(z.string()),
  removed: z.array(z.string()),
  exportsAdded: z.array(z.string()),
  exportsRemoved: z.array(z.string()),
});

export const AuditActorSchema = z.strictObject({
  uid: z.number().int().nullable(),
  user: z.string().nullable(),
  nxVersion: z.string(),
});

export const AuditEntrySchema = z.strictObject({
  seq: z.number().int().optional(),
  time: z.string(),
  op: z.enum(AUDIT_OPS),
  appId: z.string().optional(),
  fromVersion: z.string().optional(),
  toVersion: z.string().optional(),
  /** "ok" or a stable error code. */
  result: z.string(),
  actor: AuditActorSchema.optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

/** Exactly one of ability, capability, export (strict objects refuse a second key). */
export const RegistryQuerySchema = z.union([
  z.strictObject({ ability: nonEmpty }),
  z.strictObject({ capability: nonEmpty }),
  z.strictObject({ export: nonEmpty }),
]);

export const QueryHitSchema = z.strictObject({
  appId: z.string(),
  version: z.string(),
  state: z.enum(APP_STATES),
  /** The matching ability, capability or export permission. */
  match: z.string(),
  /** Whether the ability guard may start it now: active and (a paid app) entitled. */
  launchable: z.boolean(),
});

// Compile-time agreement with the types: each line fails `deno check` on drift. `Equals` is exact
// type identity (not mere assignability): a key added, removed, made optional or widened breaks it.
export type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2)
  ? true
  : false;
export type Assert<T extends true> = T;
type _Records = [
  Assert<Equals<(typeof OPERATIONS)[number], Operation>>,
  Assert<Equals<(typeof APP_STATES)[number], AppState>>,
  Assert<Equals<z.infer<typeof StepSchema>, Step>>,
  Assert<Equals<z.infer<typeof PostStepSchema>, PostStep>>,
  Assert<Equals<z.infer<typeof PermissionDiffSchema>, PermissionDiff>>,
  Assert<Equals<(typeof AUDIT_OPS)[number], AuditOp>>,
  Assert<Equals<z.infer<typeof AuditActorSchema>, AuditActor>>,
  Assert<Equals<z.infer<typeof AuditEntrySchema>, AuditEntry>>,
  Assert<Equals<z.infer<typeof RegistryQuerySchema>, RegistryQuery>>,
  Assert<Equals<z.infer<typeof QueryHitSchema>, QueryHit>>,
];
