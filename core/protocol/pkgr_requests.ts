/** The Pkgr protocol: request schemas and the agent call/reply frames. */
import { z } from "zod";
import { EnvelopeSchema } from "./envelope.ts";
import type { Pkgr } from "../pkgr/mod.ts";

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
