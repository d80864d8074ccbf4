/**
 * The `Pkgr` service interface as data: one zod schema per request and per result, the call and
 * reply frames of the agent protocol (`nx agent`), and the `data` of the `--json` envelopes.
 * The schemas are the source of the published JSON Schemas (docs/schemas/); the type-level
 * checks at the end make `deno check` fail when a schema and its TypeScript type drift apart.
 *
 * Every object is strict: an unknown key is an error, in a call and in a result.
 */
import { z } from "zod";
import { ERROR_CODES } from "../errors.ts";
import { IndexEntrySchema, ManifestViewSchema, MigrationStepSchema } from "../bundle/mod.ts";
import { PublisherSchema } from "../trust/mod.ts";
import { EnvelopeSchema } from "./envelope.ts";
import type {
  AppInfo,
  AppSummary,
  DoctorReport,
  Finding,
  InspectReport,
  InstallOptions,
  KeygenResult,
  OpResult,
  PackResult,
  Pkgr,
  RollbackOptions,
  UninstallOptions,
  UpgradeOptions,
} from "../pkgr/mod.ts";
import type {
  AppState,
  AuditEntry,
  PermissionDiff,
  QueryHit,
  RegistryQuery,
} from "../registry/mod.ts";
import type { Operation, PostStep, Step } from "../plan/mod.ts";
import type { PolicyWarning, VerifiedBundle } from "../trust/mod.ts";
import type { ManifestView } from "../bundle/mod.ts";

/** The agent protocol version; a frame with any other version is refused. */
export const PKGR_PROTOCOL_VERSION = 1;

const nonEmpty = z.string().min(1);

// ---------------------------------------------------------------------------------------------
// Requests: the parameters of each Pkgr method, as one object.

/** `verify(bundle)`. */
export const VerifyRequestSchema = z.strictObject({ bundle: nonEmpty });
/** `install({bundle, dryRun?, allowDowngrade?})` (a downgrade: adopting newer kept data). */
export const InstallRequestSchema = z.strictObject({
  bundle: nonEmpty,
  dryRun: z.boolean().optional(),
  allowDowngrade: z.boolean().optional(),
});
/** `upgrade({bundle, dryRun?, allowDowngrade?})`. */
export const UpgradeRequestSchema = InstallRequestSchema;
/** `rollback({app, to?, dryRun?})`. */
export const RollbackRequestSchema = z.strictObject({
  app: nonEmpty,
  to: nonEmpty.optional(),
  dryRun: z.boolean().optional(),
});
/** `uninstall({app, keepData?, dryRun?})`. */
export const UninstallRequestSchema = z.strictObject({
  app: nonEmpty,
  keepData: z.boolean().optional(),
  dryRun: z.boolean().optional(),
});
/** `info(app)`. */
export const InfoRequestSchema = z.strictObject({ app: nonEmpty });
/** `history(app?, limit?)`. */
export const HistoryRequestSchema = z.strictObject({
  app: nonEmpty.optional(),
  limit: z.number().int().positive().optional(),
});
/** `query(q)`: exactly one of ability, capability, export (strict objects refuse a second key). */
export const QueryRequestSchema = z.union([
  z.strictObject({ ability: nonEmpty }),
  z.strictObject({ capability: nonEmpty }),
  z.strictObject({ export: nonEmpty }),
]);
/** `list()`. */
export const ListRequestSchema = z.strictObject({});

export type VerifyRequest = z.infer<typeof VerifyRequestSchema>;
export type InstallRequest = z.infer<typeof InstallRequestSchema>;
export type UpgradeRequest = z.infer<typeof UpgradeRequestSchema>;
export type RollbackRequest = z.infer<typeof RollbackRequestSchema>;
export type UninstallRequest = z.infer<typeof UninstallRequestSchema>;
export type InfoRequest = z.infer<typeof InfoRequestSchema>;
export type HistoryRequest = z.infer<typeof HistoryRequestSchema>;
export type QueryRequest = z.infer<typeof QueryRequestSchema>;
export type ListRequest = z.infer<typeof ListRequestSchema>;

/** Each method's params schema, keyed by method name (the compiler keeps it complete). */
export const PKGR_REQUEST_SCHEMAS = {
  verify: VerifyRequestSchema,
  install: InstallRequestSchema,
  upgrade: UpgradeRequestSchema,
  rollback: RollbackRequestSchema,
  uninstall: UninstallRequestSchema,
  list: ListRequestSchema,
  info: InfoRequestSchema,
  history: HistoryRequestSchema,
  query: QueryRequestSchema,
} as const satisfies Record<keyof Pkgr, z.ZodType>;

export type PkgrMethod = keyof typeof PKGR_REQUEST_SCHEMAS;
export const PKGR_METHODS = Object.keys(PKGR_REQUEST_SCHEMAS) as PkgrMethod[];

const request = <M extends PkgrMethod>(method: M) =>
  z.strictObject({ method: z.literal(method), params: PKGR_REQUEST_SCHEMAS[method] });

/** One Pkgr request: `{method, params}`, discriminated on `method`. */
export const PkgrRequestSchema = z.discriminatedUnion("method", [
  request("verify"),
  request("install"),
  request("upgrade"),
  request("rollback"),
  request("uninstall"),
  request("list"),
  request("info"),
  request("history"),
  request("query"),
]);
export type PkgrRequest = z.infer<typeof PkgrRequestSchema>;

const call = <M extends PkgrMethod>(method: M) =>
  z.strictObject({
    version: z.literal(PKGR_PROTOCOL_VERSION),
    /** Chosen by the caller; echoed in the reply. */
    id: nonEmpty,
    ...request(method).shape,
  });

/** An agent call frame: `{version: 1, id, method, params}`. */
export const PkgrCallSchema = z.discriminatedUnion("method", [
  call("verify"),
  call("install"),
  call("upgrade"),
  call("rollback"),
  call("uninstall"),
  call("list"),
  call("info"),
  call("history"),
  call("query"),
]);
export type PkgrCall = z.infer<typeof PkgrCallSchema>;

/** An agent reply frame: the call's id and the same envelope `--json` prints. */
export const PkgrReplySchema = z.strictObject({
  version: z.literal(PKGR_PROTOCOL_VERSION),
  id: nonEmpty,
  envelope: EnvelopeSchema,
});
export type PkgrReply = z.infer<typeof PkgrReplySchema>;

// ---------------------------------------------------------------------------------------------
// Results.

const manifestShape = ManifestViewSchema.shape;
/** The manifest view (core/bundle/validate.ts), strict at every level. */
export const StrictManifestViewSchema = ManifestViewSchema.extend({
  dependencies: z.array(manifestShape.dependencies.element.strict()),
  resources: z.array(manifestShape.resources.element.strict()),
  exports: z.array(manifestShape.exports.element.strict()),
}).strict();

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

export const OPERATIONS = ["install", "upgrade", "rollback", "uninstall"] as const;
export const APP_STATES = ["active", "inactive", "pending"] as const;

const version = z.string();

/** Pre-commit steps (core/plan/types.ts `Step`). */
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
]);

/** Post-commit steps (core/plan/types.ts `PostStep`). */
export const PostStepSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("gc-versions"), versions: z.array(version) }),
  z.strictObject({ kind: z.literal("warm-icon-cache"), version, icon: z.string() }),
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

export const FINDING_KINDS = [
  "staging-leftover",
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
] as const;

export const FindingSchema = z.strictObject({
  kind: z.enum(FINDING_KINDS),
  app: z.string().optional(),
  path: z.string(),
  message: z.string(),
  repairable: z.boolean(),
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

// ---------------------------------------------------------------------------------------------
// Compile-time agreement with the TypeScript types: each line fails `deno check` on drift.
// `Equals` is exact type identity (not mere assignability): a key added, removed, made optional
// or widened on either side breaks it.

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;
type Assert<T extends true> = T;
type Result<M extends keyof Pkgr> = Awaited<ReturnType<Pkgr[M]>>;
type Infer<M extends PkgrMethod> = z.infer<(typeof PKGR_RESULT_SCHEMAS)[M]>;

type _Requests = [
  Assert<Equals<PkgrMethod, keyof Pkgr>>,
  Assert<Equals<[VerifyRequest["bundle"]], Parameters<Pkgr["verify"]>>>,
  Assert<Equals<InstallRequest, InstallOptions>>,
  Assert<Equals<[InstallRequest], Parameters<Pkgr["install"]>>>,
  Assert<Equals<UpgradeRequest, UpgradeOptions>>,
  Assert<Equals<[UpgradeRequest], Parameters<Pkgr["upgrade"]>>>,
  Assert<Equals<RollbackRequest, RollbackOptions>>,
  Assert<Equals<[RollbackRequest], Parameters<Pkgr["rollback"]>>>,
  Assert<Equals<UninstallRequest, UninstallOptions>>,
  Assert<Equals<[UninstallRequest], Parameters<Pkgr["uninstall"]>>>,
  Assert<Equals<[], Parameters<Pkgr["list"]>>>,
  Assert<Equals<ListRequest, Record<string, never>>>,
  Assert<Equals<[InfoRequest["app"]], Parameters<Pkgr["info"]>>>,
  Assert<
    Equals<
      [app?: HistoryRequest["app"], limit?: HistoryRequest["limit"]],
      Parameters<Pkgr["history"]>
    >
  >,
  Assert<Equals<QueryRequest, RegistryQuery>>,
  Assert<Equals<[QueryRequest], Parameters<Pkgr["query"]>>>,
  Assert<Equals<PkgrRequest["method"], keyof Pkgr>>,
  Assert<Equals<PkgrCall["method"], keyof Pkgr>>,
];

type _Results = [
  Assert<Equals<{ [M in PkgrMethod]: Infer<M> }, { [M in PkgrMethod]: Result<M> }>>,
  Assert<Equals<z.infer<typeof StrictManifestViewSchema>, ManifestView>>,
  Assert<Equals<z.infer<typeof PolicyWarningSchema>, PolicyWarning>>,
  Assert<Equals<z.infer<typeof VerifiedBundleSchema>, VerifiedBundle>>,
  Assert<Equals<z.infer<typeof StepSchema>, Step>>,
  Assert<Equals<z.infer<typeof PostStepSchema>, PostStep>>,
  Assert<Equals<(typeof OPERATIONS)[number], Operation>>,
  Assert<Equals<(typeof APP_STATES)[number], AppState>>,
  Assert<Equals<z.infer<typeof PermissionDiffSchema>, PermissionDiff>>,
  Assert<Equals<z.infer<typeof OpResultSchema>, OpResult>>,
  Assert<Equals<z.infer<typeof AppSummarySchema>, AppSummary>>,
  Assert<Equals<z.infer<typeof AppInfoSchema>, AppInfo>>,
  Assert<Equals<z.infer<typeof AuditEntrySchema>, AuditEntry>>,
  Assert<Equals<z.infer<typeof QueryHitSchema>, QueryHit>>,
  Assert<Equals<z.infer<typeof FindingSchema>, Finding>>,
  Assert<Equals<z.infer<typeof DoctorReportSchema>, DoctorReport>>,
  Assert<Equals<z.infer<typeof InspectReportSchema>, InspectReport>>,
  Assert<Equals<z.infer<typeof PackResultSchema>, PackResult>>,
  Assert<Equals<z.infer<typeof KeygenResultSchema>, KeygenResult>>,
];
