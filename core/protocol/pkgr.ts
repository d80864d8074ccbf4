/**
 * The messages of the agent protocol (`nx agent`), one schema each, built from the method table
 * (core/api METHODS): a call names a method and carries its request; while it runs the agent
 * sends the call's events; a reply carries the method's result or the failure as a value. No
 * envelope crosses: the caller's CLI builds the envelope and the human text from the result, as
 * it does for a local call. How messages are framed, authenticated and streamed is the
 * transport's (docs/protocol.md, once it exists); these are the bodies it carries.
 *
 * Every object is strict: an unknown key is an error, in a call and in a reply.
 */
import * as z from "zod";
import {
  type Assert,
  type Equals,
  ErrorValueSchema,
  EventSchema,
  type Method,
  METHOD_NAMES,
  METHODS,
  type RequestOf,
  type ResultOf,
} from "../api/mod.ts";

/** The version of these messages; a message of any other version is refused. */
export const PKGR_PROTOCOL_VERSION = 1;

const nonEmpty = z.string().min(1);
const header = {
  version: z.literal(PKGR_PROTOCOL_VERSION),
  /** Chosen by the caller; echoed in the call's events and its reply. */
  id: nonEmpty,
};

const call = <M extends Method, S extends z.ZodType>(method: M, params: S) =>
  z.strictObject({ ...header, method: z.literal(method), params });

/** A call: `{version: 1, id, method, params}`, discriminated on `method`. */
export const PkgrCallSchema = z.discriminatedUnion("method", [
  call("verify", METHODS.verify.request),
  call("inspect", METHODS.inspect.request),
  call("install", METHODS.install.request),
  call("upgrade", METHODS.upgrade.request),
  call("rollback", METHODS.rollback.request),
  call("uninstall", METHODS.uninstall.request),
  call("repair", METHODS.repair.request),
  call("clearData", METHODS.clearData.request),
  call("list", METHODS.list.request),
  call("info", METHODS.info.request),
  call("history", METHODS.history.request),
  call("query", METHODS.query.request),
  call("doctor", METHODS.doctor.request),
  call("trustAdd", METHODS.trustAdd.request),
  call("trustRemove", METHODS.trustRemove.request),
  call("trustList", METHODS.trustList.request),
  call("policyShow", METHODS.policyShow.request),
  call("policySet", METHODS.policySet.request),
  call("init", METHODS.init.request),
]);
export type PkgrCall = z.infer<typeof PkgrCallSchema>;

/** One event of a running call: `{version: 1, id, event}`. */
export const PkgrEventSchema = z.strictObject({ ...header, event: EventSchema });
export type PkgrEvent = z.infer<typeof PkgrEventSchema>;

const done = <M extends Method, S extends z.ZodType>(method: M, result: S) =>
  z.strictObject({ ...header, method: z.literal(method), ok: z.literal(true), result });

/** A call that succeeded: `{version: 1, id, method, ok: true, result}`. */
export const PkgrResultReplySchema = z.discriminatedUnion("method", [
  done("verify", METHODS.verify.result),
  done("inspect", METHODS.inspect.result),
  done("install", METHODS.install.result),
  done("upgrade", METHODS.upgrade.result),
  done("rollback", METHODS.rollback.result),
  done("uninstall", METHODS.uninstall.result),
  done("repair", METHODS.repair.result),
  done("clearData", METHODS.clearData.result),
  done("list", METHODS.list.result),
  done("info", METHODS.info.result),
  done("history", METHODS.history.result),
  done("query", METHODS.query.result),
  done("doctor", METHODS.doctor.result),
  done("trustAdd", METHODS.trustAdd.result),
  done("trustRemove", METHODS.trustRemove.result),
  done("trustList", METHODS.trustList.result),
  done("policyShow", METHODS.policyShow.result),
  done("policySet", METHODS.policySet.result),
  done("init", METHODS.init.result),
]);

/** A call that failed: `{version: 1, id, method, ok: false, error: {code, message, hint?, details?}}`. */
export const PkgrErrorReplySchema = z.strictObject({
  ...header,
  method: z.enum(METHOD_NAMES as [Method, ...Method[]]),
  ok: z.literal(false),
  error: ErrorValueSchema,
});

/** The last message of a call. */
export const PkgrReplySchema = z.union([PkgrResultReplySchema, PkgrErrorReplySchema]);
export type PkgrReply = z.infer<typeof PkgrReplySchema>;

type Request<M extends Method> = Extract<PkgrCall, { method: M }>["params"];
type Reply<M extends Method> = Extract<PkgrReply, { method: M; ok: true }>["result"];
type _Messages = [
  Assert<Equals<PkgrCall["method"], Method>>,
  Assert<Equals<Extract<PkgrReply, { ok: true }>["method"], Method>>,
  Assert<Equals<{ [M in Method]: Request<M> }, { [M in Method]: RequestOf<M> }>>,
  Assert<Equals<{ [M in Method]: Reply<M> }, { [M in Method]: ResultOf<M> }>>,
];
