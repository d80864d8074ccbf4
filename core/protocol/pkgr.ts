/**
 * The `Pkgr` service interface as data: one zod schema per request and per result, the call and
 * reply frames of the agent protocol (`nx agent`), and the `data` of the `--json` envelopes.
 * The schemas are the source of the published JSON Schemas (docs/schemas/); the type-level
 * checks at the end make `deno check` fail when a schema and its TypeScript type drift apart.
 *
 * Every object is strict: an unknown key is an error, in a call and in a result.
 */
import { z } from "zod";
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
export * from "./pkgr_requests.ts";
export * from "./pkgr_results.ts";
import {
  type HistoryRequest,
  type InfoRequest,
  type InstallRequest,
  type ListRequest,
  type PkgrCall,
  type PkgrMethod,
  type PkgrRequest,
  type QueryRequest,
  type RollbackRequest,
  type UninstallRequest,
  type UpgradeRequest,
  type VerifyRequest,
} from "./pkgr_requests.ts";
import {
  APP_STATES,
  AppInfoSchema,
  AppSummarySchema,
  AuditEntrySchema,
  DoctorReportSchema,
  FindingSchema,
  InspectReportSchema,
  KeygenResultSchema,
  OPERATIONS,
  OpResultSchema,
  PackResultSchema,
  PermissionDiffSchema,
  PKGR_RESULT_SCHEMAS,
  PolicyWarningSchema,
  PostStepSchema,
  QueryHitSchema,
  StepSchema,
  StrictManifestViewSchema,
  VerifiedBundleSchema,
} from "./pkgr_results.ts";

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
