/**
 * What the frames carry, as zod schemas: the handshake bodies (HELLO … REFUSE) and the control
 * messages of a session, discriminated on `t`, one schema per direction. Every object is strict.
 * A body that is not UTF-8 JSON or fails its schema is transport.bad_frame: a peer that sends
 * one is broken or hostile, and the connection closes. docs/protocol.md lists every message.
 */
import * as z from "zod";
import { NxError } from "../errors.ts";
import { type ErrorValue, ErrorValueSchema, EventSchema } from "../api/mod.ts";
import { type Bytes, PROTOCOL_VERSION } from "./frame.ts";

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Standard base64 of exactly `bytes` bytes (canonical: padded, no whitespace). */
export const base64Of = (bytes: number) =>
  z.string().length(Math.ceil(bytes / 3) * 4).regex(B64, "not base64");

export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Decodes a string a base64Of schema accepted; non-zero padding bits are refused. */
export function fromBase64(text: string): Bytes {
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    throw new NxError("transport.bad_frame", "cannot read frame: bad base64");
  }
}

const id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "not a lowercase SHA-256 hex digest");

// ---- handshake bodies ----

export const NONCE_SIZE = 32;
export const X25519_KEY_SIZE = 32;
const version = z.literal(PROTOCOL_VERSION);
const key32 = base64Of(32);

/** 1 HELLO, host → agent: the host's nonce, ephemeral X25519 key and Ed25519 identity key. */
export const HelloSchema = z.strictObject({
  v: version,
  nonce: base64Of(NONCE_SIZE),
  eph: base64Of(X25519_KEY_SIZE),
  key: key32,
});
export type Hello = z.infer<typeof HelloSchema>;

/** 2 CHALLENGE, agent → host: fresh nonce and ephemeral key; the agent's host key if it has one. */
export const ChallengeSchema = z.strictObject({
  v: version,
  nonce: base64Of(NONCE_SIZE),
  eph: base64Of(X25519_KEY_SIZE),
  agentKey: key32.optional(),
  agentSig: base64Of(64).optional(),
}).refine((c) => (c.agentKey === undefined) === (c.agentSig === undefined), {
  message: "agentKey and agentSig come together",
});
export type Challenge = z.infer<typeof ChallengeSchema>;

/** 3 AUTH, host → agent: the host's signature over the transcript. */
export const AuthSchema = z.strictObject({ sig: base64Of(64) });
export type Auth = z.infer<typeof AuthSchema>;

/** 4 WELCOME, agent → host: the session is open. */
export const WelcomeSchema = z.strictObject({ session: z.string().regex(/^[0-9a-f]{32}$/) });
export type Welcome = z.infer<typeof WelcomeSchema>;

/** 5 REFUSE, agent → host: why the agent will not talk, then it closes. */
export const RefuseSchema = ErrorValueSchema;
export type Refuse = ErrorValue;

// ---- control messages ----

export const OfferFileSchema = z.strictObject({
  path: z.string().min(1),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  sha256,
});
export type OfferFile = z.infer<typeof OfferFileSchema>;

/** Control messages the host sends. */
export const HostMessageSchema = z.discriminatedUnion("t", [
  /** Run one method of the contract; `request` is checked against METHODS[method] by the agent. */
  z.strictObject({ t: z.literal("call"), id, method: z.string().min(1), request: z.unknown() }),
  z.strictObject({ t: z.literal("cancel"), id }),
  z.strictObject({ t: z.literal("offer"), id, files: z.array(OfferFileSchema) }),
  z.strictObject({ t: z.literal("ping"), n: id }),
  z.strictObject({ t: z.literal("bye") }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;

const ascending = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] < x);

/** Control messages the agent sends. */
export const AgentMessageSchema = z.discriminatedUnion("t", [
  z.strictObject({
    t: z.literal("need"),
    id,
    files: z.array(id).refine(ascending, "indices must be strictly ascending"),
  }),
  z.strictObject({ t: z.literal("stored"), id, upload: z.string().min(1) }),
  z.strictObject({ t: z.literal("event"), id, event: EventSchema }),
  /** `result` is checked against METHODS[method].result by the host, which knows the method. */
  z.strictObject({ t: z.literal("result"), id, result: z.unknown() }),
  z.strictObject({ t: z.literal("error"), id, error: ErrorValueSchema }),
  z.strictObject({ t: z.literal("pong"), n: id }),
  z.strictObject({ t: z.literal("bye"), error: ErrorValueSchema.optional() }),
]);
export type AgentMessage = z.infer<typeof AgentMessageSchema>;

/** Any control message (both directions; `bye` is the agent's shape, a superset of the host's). */
export const ControlMessageSchema = z.union([HostMessageSchema, AgentMessageSchema]);
export type ControlMessage = HostMessage | AgentMessage;

/** Which side a channel is: it sends that side's messages and reads the other's. */
export type Role = "host" | "agent";

// ---- codec ----

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** UTF-8 JSON, without schema. */
export function decodeJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(body));
  } catch {
    throw new NxError("transport.bad_frame", `cannot read ${what}: not UTF-8 JSON`);
  }
}

/** A body through its schema; any failure is transport.bad_frame naming the first issue. */
export function parseBody<S extends z.ZodType>(
  schema: S,
  body: Uint8Array,
  what: string,
): z.infer<S> {
  return parseValue(schema, decodeJson(body, what), what);
}

export function parseValue<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what: string,
): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
  throw new NxError(
    "transport.bad_frame",
    `cannot read ${what}: ${issue?.message ?? "invalid"}${at}`,
    {
      details: {
        issues: parsed.error.issues.slice(0, 5).map((i) => ({
          path: i.path.map(String),
          message: i.message,
        })),
      },
    },
  );
}

/**
 * A HELLO or CHALLENGE body: a version other than ours is transport.protocol_version (checked
 * before the schema, whose `v` is a literal), anything else wrong is transport.bad_frame.
 */
export function parseVersioned<S extends z.ZodType>(
  schema: S,
  body: Uint8Array,
  what: string,
): z.infer<S> {
  const value = decodeJson(body, what);
  const v = typeof value === "object" && value !== null ? (value as { v?: unknown }).v : undefined;
  if (typeof v === "number" && v !== PROTOCOL_VERSION) {
    throw new NxError(
      "transport.protocol_version",
      `cannot read ${what}: protocol version ${v}, this nx speaks ${PROTOCOL_VERSION}`,
      { details: { version: v, supported: [PROTOCOL_VERSION] } },
    );
  }
  return parseValue(schema, value, what);
}

/** The schema of what a side receives. */
export function incomingSchema(role: Role): z.ZodType<ControlMessage> {
  return role === "host" ? AgentMessageSchema : HostMessageSchema;
}
