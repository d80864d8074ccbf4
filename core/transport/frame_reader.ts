/**
 * Whole frames out of a byte stream. Chunks are copied once, into a buffer of exactly one
 * frame's size, allocated only after its header passed decodeHeader (so a length over the limit
 * is never allocated). EOF between frames is a clean end (null); EOF inside one is a torn frame.
 */
import { NxError } from "../errors.ts";
import {
  type Bytes,
  decodeHeader,
  type Frame,
  type FrameType,
  hasMac,
  HEADER_SIZE,
  MAC_SIZE,
  MAX_BODY,
  SEQ_SIZE,
} from "./frame.ts";

const EMPTY = new Uint8Array(0);

export interface FrameReaderOptions {
  /** The largest body accepted (default and ceiling MAX_BODY). */
  maxBody?: number;
}

/** A buffer being filled; `filled` advances as bytes are copied, so a timeout loses nothing. */
interface Target {
  bytes: Bytes;
  filled: number;
}

interface Partial extends Target {
  type: FrameType;
  bodyEnd: number;
  trailer: number;
}

export class FrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #maxBody: number;
  #chunk: Uint8Array = EMPTY;
  /** A read still outstanding when a timeout fired: the next call waits on it, not a new one. */
  #pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  #eof = false;
  #failed: NxError | undefined;
  #busy = false;
  readonly #head: Target = { bytes: new Uint8Array(HEADER_SIZE), filled: 0 };
  #frame: Partial | undefined;

  constructor(readable: ReadableStream<Uint8Array>, opts: FrameReaderOptions = {}) {
    this.#reader = readable.getReader();
    this.#maxBody = Math.min(opts.maxBody ?? MAX_BODY, MAX_BODY);
  }

  /**
   * The next whole frame, or null at a clean EOF. `timeoutMs` bounds this call (header and
   * body), so a length field larger than what follows, then silence, ends in transport.timeout.
   * A timeout leaves the reader usable (the next call resumes the frame); any other error is
   * final and every later call throws it again.
   */
  async next(timeoutMs?: number): Promise<Frame | null> {
    if (this.#failed) throw this.#failed;
    if (this.#busy) throw new Error("FrameReader.next called while a read is in progress");
    this.#busy = true;
    const deadline = timeoutMs === undefined ? undefined : new Deadline(timeoutMs);
    try {
      return await this.#read(deadline);
    } catch (e) {
      if (e instanceof NxError && e.code !== "transport.timeout") this.#failed = e;
      throw e;
    } finally {
      deadline?.clear();
      this.#busy = false;
    }
  }

  /** Stops reading: later calls throw transport.closed (the owner closes the connection). */
  cancel(): void {
    this.#failed ??= new NxError("transport.closed", "cannot read frame: the connection is closed");
    this.#reader.cancel().catch(() => {});
  }

  /**
   * Reads and drops input until EOF or `ms` pass (a refusing agent lingers so that closing
   * with unread input does not reset the connection before its REFUSE is read). Never throws.
   */
  async discard(ms: number): Promise<void> {
    const deadline = new Deadline(ms);
    try {
      this.#chunk = EMPTY;
      while (!this.#eof && await this.#pull(deadline) !== undefined) { /* dropped */ }
    } catch {
      /* timed out or failed: done either way */
    } finally {
      deadline.clear();
    }
  }

  async #read(deadline: Deadline | undefined): Promise<Frame | null> {
    if (!this.#frame) {
      const head = this.#head;
      await this.#fill(head, deadline);
      if (head.filled === 0) return null;
      if (head.filled < HEADER_SIZE) throw torn();
      const { type, length } = decodeHeader(head.bytes, this.#maxBody);
      const trailer = hasMac(type) ? MAC_SIZE : 0;
      const bytes = new Uint8Array(SEQ_SIZE + HEADER_SIZE + length + trailer);
      bytes.set(head.bytes, SEQ_SIZE);
      const bodyEnd = SEQ_SIZE + HEADER_SIZE + length;
      this.#frame = { type, bytes, filled: SEQ_SIZE + HEADER_SIZE, bodyEnd, trailer };
    }
    const frame = this.#frame;
    await this.#fill(frame, deadline);
    if (frame.filled < frame.bytes.length) throw torn();
    this.#frame = undefined;
    this.#head.filled = 0;
    const { type, bytes, bodyEnd, trailer } = frame;
    return {
      type,
      body: bytes.subarray(SEQ_SIZE + HEADER_SIZE, bodyEnd),
      mac: trailer ? bytes.subarray(bodyEnd) : undefined,
      macInput: bytes.subarray(0, bodyEnd),
    };
  }

  /** Copies stream bytes into `target` until it is full or the stream ends. */
  async #fill(target: Target, deadline: Deadline | undefined): Promise<void> {
    while (target.filled < target.bytes.length) {
      if (this.#chunk.length === 0) {
        if (this.#eof) return;
        const chunk = await this.#pull(deadline);
        if (chunk === undefined) {
          this.#eof = true;
          return;
        }
        this.#chunk = chunk;
        continue;
      }
      const n = Math.min(this.#chunk.length, target.bytes.length - target.filled);
      target.bytes.set(this.#chunk.subarray(0, n), target.filled);
      this.#chunk = this.#chunk.subarray(n);
      target.filled += n;
    }
  }

  async #pull(deadline: Deadline | undefined): Promise<Uint8Array | undefined> {
    this.#pending ??= this.#reader.read();
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = deadline ? await deadline.race(this.#pending) : await this.#pending;
    } catch (e) {
      if (e instanceof NxError && e.code === "transport.timeout") throw e; // read stays pending
      this.#pending = undefined;
      throw new NxError("transport.closed", "cannot read frame: the connection failed", {
        cause: e,
      });
    }
    this.#pending = undefined;
    return result.done ? undefined : result.value;
  }
}

function torn(): NxError {
  return new NxError(
    "transport.bad_frame",
    "cannot read frame: the connection ended inside a frame",
  );
}

/** One timer per next() call; every pull of that call races it. */
class Deadline {
  readonly #expired: Promise<never>;
  #id: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number) {
    this.#expired = new Promise<never>((_, reject) => {
      this.#id = setTimeout(() =>
        reject(
          new NxError("transport.timeout", `cannot read frame: no whole frame within ${ms} ms`, {
            details: { timeoutMs: ms },
          }),
        ), ms);
    });
    this.#expired.catch(() => {});
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.#expired]);
  }

  clear(): void {
    clearTimeout(this.#id);
  }
}
