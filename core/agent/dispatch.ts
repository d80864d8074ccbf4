/**
 * One call from a host, run on the agent's local Pkgr: the method must be one of the contract's
 * (`agent.unknown_method`), a trust or policy change needs `--allow-admin` (`agent.forbidden`),
 * the request must pass the method's schema (`agent.invalid_request`, zod's issues in the
 * details), and a bundle must be an upload this connection completed (`agent.upload_unknown`;
 * a path of the agent's machine is `agent.invalid_request`) — it reaches the Pkgr as
 * `{kind: "path", path: <upload dir>, name}`, and the Pkgr shows the host's name wherever its
 * result or error names the bundle (core/pkgr shown_as.ts).
 *
 * The reply is what a local call gives: the result, checked against the method's result schema
 * after a JSON round trip (the schema is the contract; a result that fails it is the agent's bug,
 * sent as `internal.unexpected` rather than as a value the host would refuse), or the failure
 * as a value (errorValue). Every event goes to the host as it happens; markers also go to the
 * agent's own log, followed after success by the guest's `bundle: … ok` markers.
 */
import {
  type CallContext,
  type ErrorValue,
  errorValue,
  type Method,
  METHODS,
  type OpResult,
  type Pkgr,
  type ProgressEvent,
  type Reporter,
  type VerifiedBundle,
} from "../api/mod.ts";
import { NxError } from "../errors.ts";

export interface Call {
  id: number;
  method: string;
  request: unknown;
}

export type Reply =
  | { t: "result"; id: number; result: unknown }
  | { t: "error"; id: number; error: ErrorValue };

export interface DispatchOptions {
  pkgr: Pkgr;
  allowAdmin: boolean;
  /**
   * The directory of the connection's completed upload `id`, taken by this call (an upload
   * serves one call); undefined when the connection has none of that id.
   */
  takeUpload(id: string): string | undefined;
  signal: AbortSignal;
  /** The call's events, in order, for the host. */
  emit(event: ProgressEvent): void;
  /** The agent's own log (its stderr): the call's markers and the `bundle: … ok` markers. */
  log: Reporter;
}

/** The marker a successful verification of the bundle reports (core/pkgr verify.ts). */
const VERIFIED_OK = "pkgr: verified ok";

export async function dispatch(call: Call, o: DispatchOptions): Promise<Reply> {
  let verified = false;
  try {
    const method = knownMethod(call.method);
    if (METHODS[method].admin && !o.allowAdmin) throw forbidden(method);
    const request = localRequest(method, parseRequest(method, call.request), o.takeUpload);
    const reporter: Reporter = {
      emit(event) {
        if (event.kind === "marker") {
          o.log.emit(event);
          if (event.text === VERIFIED_OK) verified = true;
        }
        o.emit(event);
      },
    };
    const run = o.pkgr[method] as (request: unknown, ctx: CallContext) => Promise<unknown>;
    const result = checkedResult(
      method,
      await run.call(o.pkgr, request, { now: new Date(), reporter, signal: o.signal }),
    );
    for (const text of bundleMarkers(method, result, verified)) {
      o.log.emit({ kind: "marker", text });
    }
    return { t: "result", id: call.id, result };
  } catch (e) {
    return { t: "error", id: call.id, error: errorValue(e) };
  }
}

function knownMethod(name: string): Method {
  if (Object.hasOwn(METHODS, name)) return name as Method;
  throw new NxError("agent.unknown_method", `cannot run ${name}: the agent has no such method`, {
    details: { method: name },
    hint: "the host's nx and the agent's differ: run the same nx version on both",
  });
}

function forbidden(method: Method): NxError {
  return new NxError(
    "agent.forbidden",
    `cannot run ${method} over a transport: it changes what the agent's root trusts`,
    {
      details: { method },
      hint: "start the agent with --allow-admin, or run the command on the agent's machine",
    },
  );
}

/** zod issues as plain values (a path of keys and indices, the code, the message). */
function issuesOf(
  error: { issues: readonly { code: string; path: PropertyKey[]; message: string }[] },
) {
  return error.issues.slice(0, 20).map((i) => ({
    code: i.code,
    path: i.path.map((p) => (typeof p === "number" ? p : String(p))),
    message: i.message,
  }));
}

function parseRequest(method: Method, request: unknown): unknown {
  const parsed = METHODS[method].request.safeParse(request);
  if (parsed.success) return parsed.data;
  throw new NxError(
    "agent.invalid_request",
    `cannot run ${method}: its request does not match the method's schema`,
    {
      details: { method, issues: issuesOf(parsed.error) },
      hint: "the host's nx and the agent's differ: run the same nx version on both",
    },
  );
}

/**
 * The request as the local Pkgr takes it: an upload becomes its directory here. A path is
 * refused: it would name a directory of the agent's machine, which the host has no business
 * reading (a refusal's details list names found there), and a host's nx always uploads.
 */
function localRequest(
  method: Method,
  request: unknown,
  takeUpload: (id: string) => string | undefined,
): unknown {
  // A program the agent launches never writes to the agent's own stdout: its output is the reply's.
  if (method === "launch") return { ...(request as object), capture: true };
  if (!METHODS[method].bundle) return request;
  const withBundle = request as { bundle: { kind: string; id?: string; name?: string } };
  const ref = withBundle.bundle;
  if (ref.kind !== "upload") {
    throw new NxError(
      "agent.invalid_request",
      `cannot run ${method}: a bundle sent to an agent must be an upload, not a path`,
      { details: { method, kind: ref.kind }, hint: "send the bundle's files (offer) first" },
    );
  }
  const dir = takeUpload(ref.id!);
  if (dir === undefined) {
    throw new NxError(
      "agent.upload_unknown",
      `cannot run ${method}: this connection completed no upload ${ref.id}`,
      {
        details: { upload: ref.id },
        hint: "an upload serves one call on the connection that sent it: send the bundle again",
      },
    );
  }
  return { ...withBundle, bundle: { kind: "path", path: dir, name: ref.name } };
}

function checkedResult(method: Method, result: unknown): unknown {
  const wire: unknown = result === undefined ? undefined : JSON.parse(JSON.stringify(result));
  const parsed = METHODS[method].result.safeParse(wire);
  if (parsed.success) return wire;
  throw new NxError(
    "internal.unexpected",
    `cannot send the result of ${method}: it does not match the method's result schema`,
    { details: { method, issues: issuesOf(parsed.error) } },
  );
}

/**
 * The guest's markers for a successful call (docs/cli.md#marker-lines): a bundle verified (when
 * the call reported `pkgr: verified ok`), installed (install, upgrade; not a dry run), removed.
 */
export function bundleMarkers(method: Method, result: unknown, verified: boolean): string[] {
  switch (method) {
    case "verify":
      return verified ? [`bundle: verify ok app=${(result as VerifiedBundle).manifest.name}`] : [];
    case "install":
    case "upgrade": {
      const op = result as OpResult;
      return [
        ...(verified ? [`bundle: verify ok app=${op.appId}`] : []),
        ...(op.dryRun ? [] : [`bundle: install ok ${op.appId}@${op.toVersion}`]),
      ];
    }
    case "uninstall": {
      const op = result as OpResult;
      return op.dryRun ? [] : [`bundle: uninstall ok ${op.appId}`];
    }
    default:
      return [];
  }
}
