/**
 * The one table of methods: every command that touches a state root is exactly one method here,
 * with its request schema, its result schema, whether it writes, whether it takes a bundle, and
 * whether it changes the root's trust. The service (core/pkgr `createPkgr`) implements
 * {@link Pkgr} for a local root; the CLI (cli/root_command.ts) maps each command to one method;
 * the agent protocol (core/protocol) builds its call and reply messages from this table.
 */
import * as z from "zod";
import type { AnySchema } from "../schema/mod.ts";
import { PolicySchema, PublisherSchema } from "../trust/mod.ts";
import type { Policy, Publisher, VerifiedBundle } from "../trust/mod.ts";
import type { Reporter } from "./events.ts";
import type { AuditEntry, QueryHit } from "./records.ts";
import {
  type Assert,
  AuditEntrySchema,
  type Equals,
  QueryHitSchema,
  RegistryQuerySchema,
} from "./record_schemas.ts";
import {
  ClearDataRequestSchema,
  DoctorRequestSchema,
  HistoryRequestSchema,
  InfoRequestSchema,
  InitRequestSchema,
  InspectRequestSchema,
  InstallRequestSchema,
  ListRequestSchema,
  PolicySetRequestSchema,
  PolicyShowRequestSchema,
  RepairRequestSchema,
  RollbackRequestSchema,
  TrustAddRequestSchema,
  TrustListRequestSchema,
  TrustRemoveRequestSchema,
  UninstallRequestSchema,
  UpgradeRequestSchema,
  VerifyRequestSchema,
} from "./requests.ts";
import {
  AppInfoSchema,
  AppSummarySchema,
  DoctorReportSchema,
  InitResultSchema,
  InspectReportSchema,
  OpResultSchema,
  VerifiedBundleSchema,
} from "./result_schemas.ts";
import {
  type DeviceView,
  DeviceViewSchema,
  type EntitlementStatus,
  EntitlementStatusSchema,
  type ImportResult,
  ImportResultSchema,
  LaunchRequestSchema,
  type LaunchResult,
  LaunchResultSchema,
  type LedgerView,
  LedgerViewSchema,
  LicensedDeviceRequestSchema,
  LicensedImportRequestSchema,
  LicensedListRequestSchema,
  LicensedStatusRequestSchema,
  LicensedTrustAddRequestSchema,
  LicensedTrustListRequestSchema,
  LicensedTrustRemoveRequestSchema,
  type StoreKeyView,
  StoreKeyViewSchema,
} from "./licensing.ts";
import type {
  AppInfo,
  AppSummary,
  DoctorReport,
  InitResult,
  InspectReport,
  OpResult,
} from "./results.ts";

export interface MethodSpec {
  request: AnySchema;
  result: AnySchema;
  /** Changes the root, or takes its writer lock (doctor): one writer at a time. */
  writes: boolean;
  /** Its request names a bundle (`bundle: BundleRef`), which a transport uploads first. */
  bundle: boolean;
  /** Changes what the root trusts (publishers, policy): an agent refuses it unless allowed. */
  admin: boolean;
}

const reader = { writes: false, bundle: false, admin: false } as const;
const writer = { writes: true, bundle: false, admin: false } as const;
const admin = { writes: true, bundle: false, admin: true } as const;

export const METHODS = {
  verify: { request: VerifyRequestSchema, result: VerifiedBundleSchema, ...reader, bundle: true },
  inspect: { request: InspectRequestSchema, result: InspectReportSchema, ...reader, bundle: true },
  install: { request: InstallRequestSchema, result: OpResultSchema, ...writer, bundle: true },
  upgrade: { request: UpgradeRequestSchema, result: OpResultSchema, ...writer, bundle: true },
  rollback: { request: RollbackRequestSchema, result: OpResultSchema, ...writer },
  uninstall: { request: UninstallRequestSchema, result: OpResultSchema, ...writer },
  repair: { request: RepairRequestSchema, result: OpResultSchema, ...writer },
  clearData: { request: ClearDataRequestSchema, result: OpResultSchema, ...writer },
  list: { request: ListRequestSchema, result: z.array(AppSummarySchema), ...reader },
  info: { request: InfoRequestSchema, result: AppInfoSchema, ...reader },
  history: { request: HistoryRequestSchema, result: z.array(AuditEntrySchema), ...reader },
  query: { request: RegistryQuerySchema, result: z.array(QueryHitSchema), ...reader },
  doctor: { request: DoctorRequestSchema, result: DoctorReportSchema, ...writer },
  trustAdd: { request: TrustAddRequestSchema, result: PublisherSchema, ...admin },
  trustRemove: { request: TrustRemoveRequestSchema, result: PublisherSchema, ...admin },
  trustList: { request: TrustListRequestSchema, result: z.array(PublisherSchema), ...reader },
  policyShow: { request: PolicyShowRequestSchema, result: PolicySchema, ...reader },
  policySet: { request: PolicySetRequestSchema, result: PolicySchema, ...admin },
  init: { request: InitRequestSchema, result: InitResultSchema, ...writer },
  licensedImport: { request: LicensedImportRequestSchema, result: ImportResultSchema, ...writer },
  licensedList: { request: LicensedListRequestSchema, result: LedgerViewSchema, ...reader },
  licensedStatus: {
    request: LicensedStatusRequestSchema,
    result: EntitlementStatusSchema,
    ...reader,
  },
  licensedDevice: { request: LicensedDeviceRequestSchema, result: DeviceViewSchema, ...writer },
  licensedTrustAdd: {
    request: LicensedTrustAddRequestSchema,
    result: StoreKeyViewSchema,
    ...admin,
  },
  licensedTrustRemove: {
    request: LicensedTrustRemoveRequestSchema,
    result: StoreKeyViewSchema,
    ...admin,
  },
  licensedTrustList: {
    request: LicensedTrustListRequestSchema,
    result: z.array(StoreKeyViewSchema),
    ...reader,
  },
  // Reads the root; the program it runs writes only its own data directory.
  launch: { request: LaunchRequestSchema, result: LaunchResultSchema, ...reader },
} as const satisfies Record<string, MethodSpec>;

export type Method = keyof typeof METHODS;
export const METHOD_NAMES = Object.keys(METHODS) as Method[];

/** What each method resolves to (the result schemas infer exactly these: checked below). */
export interface Results {
  verify: VerifiedBundle;
  inspect: InspectReport;
  install: OpResult;
  upgrade: OpResult;
  rollback: OpResult;
  uninstall: OpResult;
  repair: OpResult;
  clearData: OpResult;
  list: AppSummary[];
  info: AppInfo;
  history: AuditEntry[];
  query: QueryHit[];
  doctor: DoctorReport;
  trustAdd: Publisher;
  trustRemove: Publisher;
  trustList: Publisher[];
  policyShow: Policy;
  policySet: Policy;
  init: InitResult;
  licensedImport: ImportResult;
  licensedList: LedgerView;
  licensedStatus: EntitlementStatus;
  licensedDevice: DeviceView;
  licensedTrustAdd: StoreKeyView;
  licensedTrustRemove: StoreKeyView;
  licensedTrustList: StoreKeyView[];
  launch: LaunchResult;
}

export type RequestOf<M extends Method> = z.infer<(typeof METHODS)[M]["request"]>;
export type ResultOf<M extends Method> = Results[M];

/**
 * What one call runs with, chosen by the caller for that call alone: a long-lived service (an
 * agent) serves many calls with one instance, each with its own time, reporter and cancellation.
 */
export interface CallContext {
  /** The reference time of the operation (audit entries, transaction ids, signature windows). */
  now: Date;
  /** Where the call's events go (markers, warnings, progress). */
  reporter: Reporter;
  /**
   * Cancels the call: checked before the root is touched and before each step of a transaction,
   * whose begun steps are then undone (`op.cancelled`). A running migration step is not
   * interrupted; its own time limit bounds it.
   */
  signal?: AbortSignal;
}

/** The service: one function per method. */
export type Pkgr = {
  readonly [M in Method]: (request: RequestOf<M>, ctx: CallContext) => Promise<ResultOf<M>>;
};

type _Methods = [
  Assert<Equals<keyof Results, Method>>,
  Assert<Equals<{ [M in Method]: z.infer<(typeof METHODS)[M]["result"]> }, Results>>,
];
