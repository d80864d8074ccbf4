/**
 * One host connection (docs/protocol.md#sessions): the handshake (its own deadline), then the
 * control loop until the host says bye, the connection fails or idles out, or the agent stops.
 *
 * - `ping` → `pong`, at any time, also while a call runs.
 * - `offer` → `need` → the DATA of the needed files → `stored` (uploads.ts). A failed upload is
 *   answered with its error and removed; DATA still in flight for it is dropped until the host's
 *   next `offer` or `call`. DATA when no upload is open is `agent.upload_mismatch` (more bytes
 *   than announced). An offer replaces an upload of this connection that no call used yet.
 * - `call` → its events → `result` | `error` (dispatch.ts); one call at a time: a second one,
 *   or an offer, while a call runs is `agent.busy`. `cancel` aborts the call's signal: its
 *   transaction rolls back and it ends with `op.cancelled`.
 * - Idle (no frame while no call runs) for `idleTimeoutMs` → `bye {transport.timeout}`, close.
 * - A frame that fails (torn, oversized, bad MAC, bad message) closes this connection only;
 *   the channel closes itself on such a failure, so there is no `bye` to send.
 * - A host that goes away mid-call (EOF, `bye`, a failed frame) cancels the call, exactly as a
 *   `cancel` does; the connection ends once the call has rolled back.
 * - Draining (the agent stops): an idle connection says `bye` and closes at once, one with a
 *   call in flight after that call's reply; a handshake still running is cut off.
 */
import type { Pkgr, Reporter } from "../api/mod.ts";
import { errorValue } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import type { KeyPair } from "../trust/mod.ts";
import {
  acceptHandshake,
  type ByteStream,
  type Channel,
  type ControlMessage,
  type HostMessage,
  type Incoming,
} from "../transport/mod.ts";
import { dispatch } from "./dispatch.ts";
import type { Upload, UploadArea } from "./uploads.ts";

export interface ConnectionOptions {
  /** Host keys allowed to connect. */
  authorized: Uint8Array[];
  /** The agent's own key (hosts pin it in known_agents). */
  hostKey?: KeyPair;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  pkgr: Pkgr;
  allowAdmin: boolean;
  uploads: UploadArea;
  /** The agent's log (stderr): markers of every call, warnings about failed connections. */
  log: Reporter;
}

interface InFlight {
  id: number;
  controller: AbortController;
  done: Promise<void>;
}

type Offer = Extract<HostMessage, { t: "offer" }>;
type CallMessage = Extract<HostMessage, { t: "call" }>;

/** Why the loop woke without a frame. */
type Wake = "idle" | "wake";

export class Connection {
  #channel: Channel | undefined;
  #pending: Promise<Incoming> | undefined;
  #inFlight: InFlight | undefined;
  /** The upload receiving DATA, and the offer it answers. */
  #receiving: { offer: number; upload: Upload } | undefined;
  /** Completed uploads no call has used yet, by upload id (at most one: see `#offer`). */
  #stored = new Map<string, Upload>();
  #lastOffer = 0;
  /** A failed upload's DATA may still arrive: dropped until the next offer or call. */
  #dropping = false;
  #draining = false;
  #wake: () => void = () => {};

  constructor(private readonly stream: ByteStream, private readonly o: ConnectionOptions) {}

  /** Serves the connection to its end; never throws (a failure is logged and closes it). */
  async run(): Promise<void> {
    try {
      this.#channel = await acceptHandshake(this.stream, {
        authorized: this.o.authorized,
        hostKey: this.o.hostKey,
        timeoutMs: this.o.handshakeTimeoutMs,
      });
    } catch (e) {
      this.#warn(e);
      return; // acceptHandshake refused and closed the stream
    }
    try {
      await this.#serve(this.#channel);
    } catch (e) {
      if (!(e instanceof NxError && e.code === "transport.closed")) this.#warn(e);
    } finally {
      this.#inFlight?.controller.abort();
      await this.#inFlight?.done;
      await this.#discardUploads();
      this.#channel.close();
    }
  }

  /**
   * Stops serving: now when idle (a handshake still running is cut off), else after the call in
   * flight replied.
   */
  drain(): void {
    this.#draining = true;
    if (this.#channel === undefined) this.stream.close();
    this.#wake();
  }

  /** Cancels the call in flight, if any (a second signal to an agent that drains). */
  cancelCall(): void {
    this.#inFlight?.controller.abort();
  }

  async #serve(channel: Channel): Promise<void> {
    for (;;) {
      if (this.#draining && !this.#inFlight) return await this.#bye(channel);
      const got = await this.#next(channel);
      if (got === "wake") continue;
      if (got === "idle") {
        const ms = this.o.idleTimeoutMs;
        return await this.#bye(
          channel,
          new NxError("transport.timeout", `cannot keep the connection: no frame within ${ms} ms`, {
            details: { timeoutMs: ms },
          }),
        );
      }
      if (got.kind === "data") {
        await this.#data(channel, got.bytes);
        continue;
      }
      const msg = got.msg as HostMessage;
      if (msg.t === "ping") this.#send(channel, { t: "pong", n: msg.n });
      else if (msg.t === "cancel") {
        if (this.#inFlight?.id === msg.id) this.#inFlight.controller.abort();
      } else if (msg.t === "bye") return;
      else {
        this.#dropping = false;
        await this.#shortUpload(channel);
        if (msg.t === "offer") await this.#offer(channel, msg);
        else this.#call(channel, msg);
      }
    }
  }

  /** The next frame, or why the loop should look again first (idle, a call ended, a drain). */
  async #next(channel: Channel): Promise<Incoming | Wake> {
    if (this.#pending === undefined) {
      const pending = channel.receive();
      pending.catch(() => {}); // awaited below; a receive lost to close must not be unhandled
      this.#pending = pending;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const woken = new Promise<Wake>((resolve) => {
      this.#wake = () => resolve("wake");
      if (!this.#inFlight) timer = setTimeout(() => resolve("idle"), this.o.idleTimeoutMs);
    });
    try {
      const got = await Promise.race([this.#pending, woken]);
      if (got !== "wake" && got !== "idle") this.#pending = undefined;
      return got;
    } catch (e) {
      this.#pending = undefined;
      throw e;
    } finally {
      clearTimeout(timer);
      this.#wake = () => {};
    }
  }

  async #bye(channel: Channel, error?: NxError): Promise<void> {
    if (error) this.#warn(error);
    await channel.send(error ? { t: "bye", error: errorValue(error) } : { t: "bye" })
      .catch(() => {});
  }

  /** Sends without waiting; a failed send closed the channel, which ends the loop. */
  #send(channel: Channel, msg: ControlMessage): void {
    channel.send(msg).catch(() => {});
  }

  async #offer(channel: Channel, msg: Offer): Promise<void> {
    this.#lastOffer = msg.id;
    if (this.#inFlight) return this.#busy(channel, msg.id, "upload");
    await this.#discardUploads(); // an unused upload is replaced: one per connection at a time
    try {
      const upload = await this.o.uploads.begin(msg.files);
      this.#send(channel, { t: "need", id: msg.id, files: [...upload.need] });
      if (upload.complete) this.#store(channel, msg.id, upload);
      else this.#receiving = { offer: msg.id, upload };
    } catch (e) {
      this.#send(channel, { t: "error", id: msg.id, error: errorValue(e) });
    }
  }

  #store(channel: Channel, offer: number, upload: Upload): void {
    upload.finish();
    this.#stored.set(upload.id, upload);
    this.#send(channel, { t: "stored", id: offer, upload: upload.id });
  }

  async #data(channel: Channel, bytes: Uint8Array): Promise<void> {
    if (this.#dropping) return;
    const receiving = this.#receiving;
    if (!receiving) {
      await this.#discardUploads();
      this.#dropping = true;
      const error = new NxError(
        "agent.upload_mismatch",
        "cannot store the upload: more bytes arrived than the offer announced",
        { details: { extra: bytes.length } },
      );
      return this.#send(channel, { t: "error", id: this.#lastOffer, error: errorValue(error) });
    }
    try {
      receiving.upload.receive(bytes);
    } catch (e) {
      return await this.#failUpload(channel, e);
    }
    if (receiving.upload.complete) {
      this.#receiving = undefined;
      this.#store(channel, receiving.offer, receiving.upload);
    }
  }

  /** A call or offer while an upload still waits for bytes: the upload was short. */
  async #shortUpload(channel: Channel): Promise<void> {
    if (!this.#receiving) return;
    try {
      this.#receiving.upload.finish();
    } catch (e) {
      await this.#failUpload(channel, e);
    }
  }

  async #failUpload(channel: Channel, e: unknown): Promise<void> {
    const { offer, upload } = this.#receiving!;
    this.#receiving = undefined;
    this.#dropping = true;
    await upload.discard().catch(() => {});
    this.#send(channel, { t: "error", id: offer, error: errorValue(e) });
  }

  #busy(channel: Channel, id: number, what: string): void {
    const error = new NxError(
      "agent.busy",
      `cannot start the ${what}: a call is still running on this connection`,
      { hint: "send one call at a time and wait for its reply" },
    );
    this.#send(channel, { t: "error", id, error: errorValue(error) });
  }

  #call(channel: Channel, msg: CallMessage): void {
    if (this.#inFlight) return this.#busy(channel, msg.id, "call");
    const controller = new AbortController();
    let taken: Upload | undefined;
    const run = async () => {
      const reply = await dispatch(msg, {
        pkgr: this.o.pkgr,
        allowAdmin: this.o.allowAdmin,
        signal: controller.signal,
        takeUpload: (id) => {
          taken = this.#stored.get(id);
          this.#stored.delete(id);
          return taken?.dir;
        },
        emit: (event) => this.#send(channel, { t: "event", id: msg.id, event }),
        log: this.o.log,
      });
      // Kept for the next offers before the host hears back (it may send one at once).
      await taken?.retire().catch(() => taken?.discard());
      await channel.send(reply).catch(() => {});
    };
    const done = run().finally(() => {
      this.#inFlight = undefined;
      this.#wake();
    });
    this.#inFlight = { id: msg.id, controller, done };
  }

  async #discardUploads(): Promise<void> {
    const uploads = [
      ...this.#stored.values(),
      ...(this.#receiving ? [this.#receiving.upload] : []),
    ];
    this.#stored.clear();
    this.#receiving = undefined;
    for (const upload of uploads) await upload.discard().catch(() => {});
  }

  #warn(e: unknown): void {
    const error = errorValue(e);
    this.o.log.emit({ kind: "warning", code: error.code, message: error.message });
  }
}
