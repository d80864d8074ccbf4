/**
 * The host side of the agent protocol: {@link connect} opens an authenticated session to a target,
 * {@link remotePkgr} makes it a `Pkgr`, so a root command runs remotely through the very contract
 * it runs through locally. One call at a time per session (the protocol's rule): each call is
 * optionally an upload (offer → need → DATA → stored), then `call`, the call's events, and its
 * result or error. The agent is not trusted blindly: a result must pass its method's schema.
 *
 * Interruptions: a cancel (ctx.signal) or a request timeout sends `cancel` and waits up to
 * `cancelGraceMs` for the agent's answer (its rollback), then drops the connection, which the
 * agent treats as a cancel too. During an upload the byte stream cannot be interrupted by a
 * control frame, so an interruption there drops the connection at once.
 */
import {
  type BundleRef,
  type CallContext,
  errorFromValue,
  type Method,
  METHOD_NAMES,
  METHODS,
  type Pkgr,
  type RequestOf,
  type ResultOf,
} from "../api/mod.ts";
import { NxError } from "../errors.ts";
import type { KeyPair } from "../trust/mod.ts";
import type { Channel, Incoming } from "./channel.ts";
import { connectHandshake, HANDSHAKE_TIMEOUT_MS } from "./handshake.ts";
import { type KnownAgents, KnownAgentsFile } from "./known_agents.ts";
import type { AgentMessage, HostMessage } from "./messages.ts";
import { openStream } from "./streams.ts";
import { formatTarget, type Target } from "./target.ts";
import { describeOnce, sendFiles } from "./upload_send.ts";

export interface ClientTimeouts {
  /** Opening the stream (TCP connect, device open). */
  connectMs: number;
  /** The handshake, once the stream is open. */
  handshakeMs: number;
  /** One call from its first frame to its reply, upload included; none when undefined. */
  requestMs?: number;
  /** How long a cancelled call may take to confirm (its rollback) before the connection drops. */
  cancelGraceMs: number;
}

export const DEFAULT_TIMEOUTS: ClientTimeouts = {
  connectMs: 10_000,
  handshakeMs: HANDSHAKE_TIMEOUT_MS,
  cancelGraceMs: 10_000,
};

export interface ClientOptions {
  identity: KeyPair;
  /** known_agents to pin agent host keys in (accept-new); none: agent keys are not checked. */
  knownAgentsPath?: string;
  /** One loaded known_agents for many connections (a fleet records through one writer). */
  knownAgents?: KnownAgents;
  timeouts?: Partial<ClientTimeouts>;
}

/** Opens the stream to `target` and runs the handshake: a session ready for calls. */
export async function connect(target: Target, options: ClientOptions): Promise<Session> {
  const name = formatTarget(target);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const knownAgents = options.knownAgents ??
    (options.knownAgentsPath ? await KnownAgentsFile.load(options.knownAgentsPath) : undefined);
  const stream = await openStream(target, { timeoutMs: timeouts.connectMs });
  // connectHandshake closes the stream when it fails
  const channel = await connectHandshake(stream, {
    identity: options.identity,
    target: name,
    knownAgents,
    timeoutMs: timeouts.handshakeMs,
  });
  return new Session(name, channel, timeouts);
}

/** The contract over a session: every method is a remote call. */
export function remotePkgr(session: Session): Pkgr {
  const entries = METHOD_NAMES.map((m) => [
    m,
    (request: RequestOf<typeof m>, ctx: CallContext) => session.call(m, request, ctx),
  ]);
  return Object.fromEntries(entries) as Pkgr;
}

/** Why a call stopped early: the caller cancelled, or its time ran out. */
class Stop {
  reason: "cancelled" | "timeout" | undefined;
  readonly fired: Promise<undefined>;
  #dispose: () => void = () => {};

  constructor(signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    this.fired = new Promise((resolve) => {
      const fire = (reason: "cancelled" | "timeout") => {
        this.reason ??= reason;
        resolve(undefined);
      };
      const onAbort = () => fire("cancelled");
      if (signal?.aborted) fire("cancelled");
      signal?.addEventListener("abort", onAbort, { once: true });
      const timer = timeoutMs === undefined
        ? undefined
        : setTimeout(() => fire("timeout"), timeoutMs);
      this.#dispose = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
    });
  }

  dispose(): void {
    this.#dispose();
  }
}

/** An authenticated connection to one agent. */
export class Session {
  /** The target's canonical spelling (formatTarget), for messages. */
  readonly target: string;
  readonly #channel: Channel;
  readonly #timeouts: ClientTimeouts;
  #nextId = 1;
  /** Operations run one after another: the protocol has one call in flight per connection. */
  #queue: Promise<unknown> = Promise.resolve();
  /**
   * The receive in progress, if any: one outlived by an interruption, or started to watch for
   * messages during an upload. The next read takes it over (a channel has one receive at a time).
   */
  #pending: Pending | undefined;

  constructor(target: string, channel: Channel, timeouts: ClientTimeouts) {
    this.target = target;
    this.#channel = channel;
    this.#timeouts = timeouts;
  }

  /** The agent's host key, when it has one. */
  get agentKey(): Uint8Array | undefined {
    return this.#channel.peerKey;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  call<M extends Method>(method: M, request: RequestOf<M>, ctx: CallContext): Promise<ResultOf<M>> {
    return this.#exclusive(() => this.#call(method, request, ctx));
  }

  /** One ping/pong round trip; resolves with its duration in milliseconds. */
  ping(): Promise<number> {
    return this.#exclusive(async () => {
      const n = this.#nextId++;
      const started = performance.now();
      const limit = this.#timeouts.requestMs ?? this.#timeouts.handshakeMs;
      const stop = new Stop(undefined, limit);
      try {
        await this.#send({ t: "ping", n });
        const msg = await this.#next(stop.fired);
        if (msg === undefined) throw this.#drop(this.#stopped(stop, "ping", limit));
        if (msg.t !== "pong" || msg.n !== n) throw this.#unexpected(msg, `pong ${n}`);
        return performance.now() - started;
      } finally {
        stop.dispose();
      }
    });
  }

  /** Says bye and closes; a call still running ends with transport.closed. */
  async close(): Promise<void> {
    if (this.#channel.closed) return;
    const bye = this.#channel.send({ t: "bye" }).catch(() => {});
    const linger = new Stop(undefined, 1_000); // a peer that stopped reading must not hold it
    await Promise.race([bye, linger.fired]);
    linger.dispose();
    this.#channel.close();
  }

  #exclusive<T>(body: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(body);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #call<M extends Method>(method: M, request: RequestOf<M>, ctx: CallContext) {
    if (ctx.signal?.aborted) throw cancelled(); // nothing sent: as a local call that never began
    const stop = new Stop(ctx.signal, this.#timeouts.requestMs);
    try {
      let sent: unknown = request;
      if (METHODS[method].bundle) {
        const { bundle } = request as { bundle: BundleRef };
        sent = { ...request, bundle: await this.#upload(method, bundle, ctx, stop) };
      }
      const id = this.#nextId++;
      await this.#send({ t: "call", id, method, request: sent });
      for (;;) {
        const msg = await this.#next(stop.fired);
        if (msg === undefined) return await this.#afterStop(method, id, ctx, stop);
        const reply = this.#reply(method, id, msg, ctx);
        if (reply) return reply.result;
      }
    } finally {
      stop.dispose();
    }
  }

  /** A message of call `id`: an event (forwarded), its result (checked) or its error (thrown). */
  #reply<M extends Method>(method: M, id: number, msg: AgentMessage, ctx: CallContext) {
    if (msg.t === "event" && msg.id === id) {
      ctx.reporter.emit(msg.event);
      return undefined;
    }
    if (msg.t === "error" && msg.id === id) throw errorFromValue(msg.error);
    if (msg.t !== "result" || msg.id !== id) throw this.#unexpected(msg, `the reply to call ${id}`);
    const parsed = METHODS[method].result.safeParse(msg.result);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw this.#drop(
        new NxError(
          "transport.bad_frame",
          `cannot accept the result of ${method} from ${this.target}: it does not match the method's schema`,
          {
            details: {
              method,
              issue: issue ? { path: issue.path.map(String), message: issue.message } : undefined,
            },
          },
        ),
      );
    }
    // The value as sent, not as parsed: zod rebuilds objects in schema key order, and the output
    // must be byte-identical to a local run (no result schema transforms a value).
    return { result: msg.result as ResultOf<M> };
  }

  /** After a cancel or timeout: `cancel`, then the agent's answer within the grace time. */
  async #afterStop<M extends Method>(method: M, id: number, ctx: CallContext, stop: Stop) {
    const why = this.#stopped(stop, method);
    await this.#send({ t: "cancel", id }).catch(() => {
      throw why;
    });
    const grace = new Stop(undefined, this.#timeouts.cancelGraceMs);
    try {
      for (;;) {
        const msg = await this.#next(grace.fired);
        if (msg === undefined) throw this.#drop(why);
        try {
          // the call may have finished before the agent saw the cancel: its result stands
          const reply = this.#reply(method, id, msg, ctx);
          if (reply) return reply.result;
        } catch (e) {
          // the agent's error (its rollback): a timeout stays a timeout
          if (e instanceof NxError && !this.#channel.closed && stop.reason === "timeout") throw why;
          throw e;
        }
      }
    } finally {
      grace.dispose();
    }
  }

  /** Uploads a host bundle; resolves with the ref the call carries instead of the host path. */
  async #upload(
    method: Method,
    bundle: BundleRef,
    ctx: CallContext,
    stop: Stop,
  ): Promise<BundleRef> {
    if (bundle.kind !== "path") return bundle; // already an upload: the agent judges it
    const files = await describeOnce(bundle.path);
    const id = this.#nextId++;
    await this.#send({ t: "offer", id, files });
    const need = await this.#uploadReply(method, id, "need", ctx, stop);
    let refused: unknown;
    const sink = {
      sendData: async (bytes: Uint8Array) => {
        await this.#drainEvents(id, ctx).catch((e) => {
          throw (refused = e);
        });
        const sending = this.#channel.sendData(bytes).then(() => true, (e) => {
          throw this.#lost(e);
        });
        sending.catch(() => {}); // abandoned when `stop` wins; the drop below fails it
        if (!await Promise.race([sending, stop.fired])) throw this.#stopped(stop, method);
      },
    };
    try {
      await sendFiles(
        sink,
        bundle.path,
        files,
        need.files,
        (done, total) => ctx.reporter.emit({ kind: "progress", phase: "upload", done, total }),
      );
    } catch (e) {
      // The agent refused the upload between two frames: it drops the DATA still in flight until
      // the next offer or call, so the session stays in step and usable.
      if (e === refused) throw e;
      // Anything else may stop the stream short or mid-frame: the agent cannot tell the rest of
      // the bytes from the next frames.
      throw this.#drop(await this.#earlyError(id) ?? e);
    }
    const stored = await this.#uploadReply(method, id, "stored", ctx, stop);
    return { kind: "upload", id: stored.upload, name: bundle.name ?? bundle.path };
  }

  async #uploadReply<T extends "need" | "stored">(
    method: Method,
    id: number,
    want: T,
    ctx: CallContext,
    stop: Stop,
  ): Promise<Extract<AgentMessage, { t: T }>> {
    for (;;) {
      const msg = await this.#next(stop.fired);
      if (msg === undefined) throw this.#drop(this.#stopped(stop, method));
      if (msg.t === "event" && msg.id === id) ctx.reporter.emit(msg.event);
      else if (msg.t === "error" && msg.id === id) throw errorFromValue(msg.error);
      else if (msg.t === want && msg.id === id) return msg as Extract<AgentMessage, { t: T }>;
      else throw this.#unexpected(msg, `${want} for upload ${id}`);
    }
  }

  /** Forwards the events that arrived while sending; any other message ends the upload. */
  async #drainEvents(id: number, ctx: CallContext): Promise<void> {
    while ((this.#pending ??= this.#receive()).settled) {
      const msg = (await this.#next())!;
      if (msg.t === "event" && msg.id === id) ctx.reporter.emit(msg.event);
      else if (msg.t === "error" && msg.id === id) throw errorFromValue(msg.error);
      else throw this.#unexpected(msg, `events of upload ${id}`);
    }
  }

  /** The agent's error for upload `id`, if one already arrived (it explains a failed send). */
  async #earlyError(id: number): Promise<NxError | undefined> {
    if (!this.#pending?.settled) return undefined;
    const incoming = await this.#pending.promise.catch(() => undefined);
    if (incoming?.kind !== "control") return undefined;
    const msg = incoming.msg as AgentMessage;
    return msg.t === "error" && msg.id === id ? errorFromValue(msg.error) : undefined;
  }

  #receive(): Pending {
    const pending: Pending = { promise: this.#channel.receive(), settled: false };
    // never an unhandled rejection when abandoned; #next awaits the promise itself
    pending.promise.then(() => (pending.settled = true), () => (pending.settled = true));
    return pending;
  }

  /** The next control message, or undefined when `stop` fires first (the read stays pending). */
  async #next(stop?: Promise<undefined>): Promise<AgentMessage | undefined> {
    const pending = (this.#pending ??= this.#receive()).promise;
    let incoming: Incoming | undefined;
    try {
      incoming = await (stop ? Promise.race([pending, stop]) : pending);
    } catch (e) {
      this.#pending = undefined;
      throw this.#lost(e);
    }
    if (incoming === undefined) return undefined;
    this.#pending = undefined;
    if (incoming.kind === "data") {
      throw this.#drop(
        new NxError(
          "transport.bad_frame",
          `cannot read from ${this.target}: the agent sent a DATA frame`,
        ),
      );
    }
    const msg = incoming.msg as AgentMessage;
    if (msg.t === "bye") {
      this.#channel.close();
      throw msg.error
        ? errorFromValue(msg.error)
        : closedMidCall(this.target, "the agent ended the session");
    }
    return msg;
  }

  async #send(msg: HostMessage): Promise<void> {
    try {
      await this.#channel.send(msg);
    } catch (e) {
      throw this.#lost(e);
    }
  }

  /** A failed read or write: the channel closed itself; say which target went away. */
  #lost(e: unknown): unknown {
    if (e instanceof NxError && e.code === "transport.closed") {
      return closedMidCall(this.target, e.message.replace(/^cannot \w+: /, ""), e);
    }
    return e;
  }

  #unexpected(msg: AgentMessage, expected: string): NxError {
    return this.#drop(
      new NxError(
        "transport.bad_frame",
        `cannot read from ${this.target}: got ${msg.t} while waiting for ${expected}`,
        {
          details: { got: msg.t, expected },
        },
      ),
    );
  }

  #stopped(stop: Stop, method: string, ms = this.#timeouts.requestMs): NxError {
    if (stop.reason === "cancelled") return cancelled();
    return new NxError(
      "transport.timeout",
      `cannot finish ${method} on ${this.target}: no reply within ${ms} ms`,
      {
        hint: "the call was cancelled on the agent; raise the request timeout for slow operations",
        details: { target: this.target, method, timeoutMs: ms },
      },
    );
  }

  /** Closes the connection (its state is unknown) and passes the error on. */
  #drop<E>(error: E): E {
    this.#channel.close();
    return error;
  }
}

function cancelled(): NxError {
  return new NxError("op.cancelled", "cannot continue: the caller cancelled the operation");
}

function closedMidCall(target: string, reason: string, cause?: unknown): NxError {
  return new NxError("transport.closed", `cannot finish the call on ${target}: ${reason}`, {
    hint: "the agent rolls back a transaction it could not finish; run the command again",
    details: { target },
    cause,
  });
}

interface Pending {
  promise: Promise<Incoming>;
  /** Set once the receive has resolved or failed. */
  settled: boolean;
}
