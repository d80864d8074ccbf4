/**
 * The authenticated channel a handshake opens: every CONTROL and DATA frame carries
 * HMAC-SHA-256(key of its direction, u64be(seq) ‖ header ‖ body), seq counting the frames of that
 * direction from 0. A receiver that computes a different MAC (tampered, injected, replayed,
 * reordered or reflected frame) fails with transport.unauthenticated and closes. Bodies are not
 * encrypted (docs/protocol.md#security-model says why).
 */
import { NxError } from "../errors.ts";
import {
  type Bytes,
  FrameType,
  layoutMacedFrame,
  macedFrameSize,
  MAX_BODY,
  SpareBuffer,
  writeSeq,
} from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import {
  type ControlMessage,
  encodeJson,
  incomingSchema,
  parseBody,
  type Role,
} from "./messages.ts";

/** A duplex byte stream: Deno.Conn satisfies it; a unix socket or serial device is wrapped. */
export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  /** Done with a chunk once its write resolves: the channel then reuses the chunk's buffer. */
  writable: WritableStream<Uint8Array>;
  close(): void;
}

/** A received frame. A DATA frame's bytes are valid until the next receive() (its buffer is reused). */
export type Incoming =
  | { kind: "control"; msg: ControlMessage }
  | { kind: "data"; bytes: Bytes };

export interface ChannelInit {
  stream: ByteStream;
  /** The reader the handshake used (it may hold bytes that arrived after the last handshake frame). */
  reader: FrameReader;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  role: Role;
  /** 32-byte HMAC keys: this side's sending direction and the peer's. */
  sendKey: Bytes;
  receiveKey: Bytes;
  peerKey: Uint8Array | undefined;
  session: string;
}

export function importMacKey(raw: Bytes, usage: "sign" | "verify"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [usage]);
}

export class Channel {
  /** The other side's Ed25519 key: the host's on the agent; the agent's host key, if any, on the host. */
  readonly peerKey: Uint8Array | undefined;
  /** The session id the agent chose (WELCOME), for logs. */
  readonly session: string;
  readonly role: Role;
  readonly #stream: ByteStream;
  readonly #reader: FrameReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #sendKey: CryptoKey;
  readonly #receiveKey: CryptoKey;
  #sendSeq = 0;
  #receiveSeq = 0;
  /** Sends run one after another, so seq order is wire order and frames never interleave. */
  #sending: Promise<void> = Promise.resolve();
  /** A written large frame's buffer, reused by the next one. */
  readonly #spare = new SpareBuffer();
  #receiving = false;
  #closed: NxError | undefined;

  private constructor(init: ChannelInit, sendKey: CryptoKey, receiveKey: CryptoKey) {
    this.peerKey = init.peerKey;
    this.session = init.session;
    this.role = init.role;
    this.#stream = init.stream;
    this.#reader = init.reader;
    this.#writer = init.writer;
    this.#sendKey = sendKey;
    this.#receiveKey = receiveKey;
  }

  /** Imports the two HMAC keys once (not per frame). */
  static async open(init: ChannelInit): Promise<Channel> {
    const [send, receive] = await Promise.all([
      importMacKey(init.sendKey, "sign"),
      importMacKey(init.receiveKey, "verify"),
    ]);
    return new Channel(init, send, receive);
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  send(msg: ControlMessage): Promise<void> {
    return this.#send(FrameType.CONTROL, encodeJson(msg));
  }

  /** One DATA frame; bytes.length ≤ MAX_BODY. `bytes` is copied before this returns. */
  sendData(bytes: Uint8Array): Promise<void> {
    if (bytes.length > MAX_BODY) {
      return Promise.reject(
        new NxError(
          "transport.frame_too_large",
          `cannot send data: ${bytes.length} bytes in one frame is over the limit of ${MAX_BODY}`,
        ),
      );
    }
    return this.#send(FrameType.DATA, bytes);
  }

  #send(type: FrameType, body: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closed);
    const size = macedFrameSize(body.length);
    // throws frame_too_large for an oversized message
    const frame = layoutMacedFrame(type, body, this.#spare.take(size));
    const run = this.#sending.then(async () => {
      if (this.#closed) throw this.#closed;
      writeSeq(frame.macInput, this.#sendSeq++);
      frame.mac.set(
        new Uint8Array(await crypto.subtle.sign("HMAC", this.#sendKey, frame.macInput)),
      );
      try {
        await this.#writer.write(frame.wire);
      } catch (e) {
        throw this.#fail(
          new NxError("transport.closed", "cannot send frame: the connection is closed", {
            cause: e,
          }),
        );
      }
      this.#spare.keep(frame.macInput.buffer, size); // written: free for the next large frame
    });
    this.#sending = run.catch(() => {});
    return run;
  }

  /**
   * The next frame from the peer, authenticated. A timeout (transport.timeout) leaves the
   * channel open; any other failure closes it. The peer closing the stream is transport.closed.
   */
  async receive(timeoutMs?: number): Promise<Incoming> {
    if (this.#closed) throw this.#closed;
    if (this.#receiving) throw new Error("Channel.receive called while a receive is in progress");
    this.#receiving = true;
    try {
      return await this.#receive(timeoutMs);
    } catch (e) {
      if (e instanceof NxError && e.code === "transport.timeout") throw e;
      throw this.#fail(
        e instanceof NxError
          ? e
          : new NxError("transport.closed", "cannot receive: the connection failed", { cause: e }),
      );
    } finally {
      this.#receiving = false;
    }
  }

  async #receive(timeoutMs: number | undefined): Promise<Incoming> {
    const frame = await this.#reader.next(timeoutMs);
    if (frame === null) {
      throw new NxError("transport.closed", "cannot receive: the peer closed the connection");
    }
    // trust: a frame without a MAC (a handshake type) in a session is unauthenticated
    if (!frame.mac) throw unauthenticated("a handshake frame arrived inside the session");
    writeSeq(frame.macInput, this.#receiveSeq);
    // trust: the MAC binds key (direction), seq (order, replay) and header ‖ body (content)
    const ok = await crypto.subtle.verify("HMAC", this.#receiveKey, frame.mac, frame.macInput);
    if (!ok) {
      throw unauthenticated("bad MAC (tampered, injected, replayed, reordered or reflected)");
    }
    this.#receiveSeq++;
    if (frame.type === FrameType.DATA) return { kind: "data", bytes: frame.body };
    const msg = parseBody(incomingSchema(this.role), frame.body, "control message");
    return { kind: "control", msg };
  }

  #fail(error: NxError): NxError {
    if (!this.#closed) {
      this.#closed = error;
      this.#shut();
    }
    return error;
  }

  /** Closes the stream; later sends and receives throw transport.closed. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = new NxError("transport.closed", "cannot use channel: it was closed");
    this.#shut();
  }

  #shut(): void {
    this.#reader.cancel();
    this.#writer.releaseLock();
    try {
      this.#stream.close();
    } catch { /* already closed by the peer or the owner */ }
  }
}

function unauthenticated(reason: string): NxError {
  return new NxError("transport.unauthenticated", `cannot accept frame: ${reason}`);
}
