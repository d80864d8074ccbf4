/**
 * Whole frames out of a byte stream. Chunks are copied once, into a buffer of one frame's size,
 * allocated only after its header passed decodeHeader (so a length over the limit is never
 * allocated); a large frame reuses the last large one's buffer, so a frame is valid until the
 * next call of next(). EOF between frames is a clean end (null); EOF inside one is a torn frame.
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
  SpareBuffer,
} from "./frame.ts";

const EMPTY = new Uint8Array(0);
/** Reads of a byte stream land here first (headers, small frames, several frames at once). */
const STAGING_SIZE = 64 * 1024;
/** A byte stream reads at least this much of a body straight into the frame's buffer. */
const DIRECT_MIN = 16 * 1024;

export interface FrameReaderOptions {
  /** The largest body accepted (default and ceiling MAX_BODY). */
  maxBody?: number;
}

/** A buffer being filled; `filled` advances as bytes land, so a timeout loses nothing. */
interface Target {
  /** Replaced after each direct read: a BYOB read transfers the buffer and hands it back. */
  bytes: Bytes;
  size: number;
  filled: number;
}

interface Partial extends Target {
  type: FrameType;
  bodyEnd: number;
  trailer: number;
}

type Result = ReadableStreamReadResult<Uint8Array>;

/** A read in flight and where its bytes land (a frame's buffer, or the staging chunk). */
interface Pending {
  promise: Promise<Result>;
  into: Target | undefined;
}

/**
 * A byte stream (Deno.Conn's readable) is read with a BYOB reader: large bodies land straight
 * in the frame's buffer, with no intermediate chunk and no copy. Any other stream is read chunk
 * by chunk, each copied once into the frame's buffer.
 */
export class FrameReader {
  readonly #byob: ReadableStreamBYOBReader | undefined;
  readonly #chunks: ReadableStreamDefaultReader<Uint8Array> | undefined;
  readonly #maxBody: number;
  #staging: ArrayBuffer | undefined;
  /** The last large frame's buffer: the next one reuses it. */
  readonly #spare = new SpareBuffer();
  /** Unconsumed bytes of the last chunk read. */
  #chunk: Uint8Array = EMPTY;
  /** A read still outstanding when a timeout fired: the next call waits on it, not a new one. */
  #pending: Pending | undefined;
  #eof = false;
  #failed: NxError | undefined;
  #busy = false;
  readonly #head: Target = { bytes: new Uint8Array(HEADER_SIZE), size: HEADER_SIZE, filled: 0 };
  #frame: Partial | undefined;

  constructor(readable: ReadableStream<Uint8Array>, opts: FrameReaderOptions = {}) {
    try {
      this.#byob = readable.getReader({ mode: "byob" });
      this.#staging = new ArrayBuffer(STAGING_SIZE);
    } catch {
      this.#chunks = readable.getReader(); // not a byte stream
    }
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
    (this.#byob ?? this.#chunks)!.cancel().catch(() => {});
  }

  /**
   * Reads and drops input until EOF or `ms` pass (a refusing agent lingers so that closing
   * with unread input does not reset the connection before its REFUSE is read). Never throws.
   */
  async discard(ms: number): Promise<void> {
    const deadline = new Deadline(ms);
    try {
      while (!this.#eof) {
        this.#chunk = EMPTY;
        await this.#pull(deadline, undefined);
      }
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
      const size = SEQ_SIZE + HEADER_SIZE + length + trailer;
      const bytes = this.#spare.take(size) ?? new Uint8Array(size);
      bytes.set(head.bytes, SEQ_SIZE);
      const bodyEnd = SEQ_SIZE + HEADER_SIZE + length;
      this.#frame = { type, bytes, size, filled: SEQ_SIZE + HEADER_SIZE, bodyEnd, trailer };
    }
    const frame = this.#frame;
    await this.#fill(frame, deadline);
    if (frame.filled < frame.size) throw torn();
    this.#frame = undefined;
    this.#head.filled = 0;
    const { type, bytes, size, bodyEnd, trailer } = frame;
    this.#spare.keep(bytes.buffer, size); // the next large frame lands here
    return {
      type,
      body: bytes.subarray(SEQ_SIZE + HEADER_SIZE, bodyEnd),
      mac: trailer ? bytes.subarray(bodyEnd, size) : undefined,
      macInput: bytes.subarray(0, bodyEnd),
    };
  }

  /** Fills `target` from the stream until it is full or the stream ends. */
  async #fill(target: Target, deadline: Deadline | undefined): Promise<void> {
    while (target.filled < target.size) {
      if (this.#chunk.length > 0) {
        const n = Math.min(this.#chunk.length, target.size - target.filled);
        target.bytes.set(this.#chunk.subarray(0, n), target.filled);
        this.#chunk = this.#chunk.subarray(n);
        target.filled += n;
        continue;
      }
      if (this.#eof) return;
      const direct = this.#byob !== undefined && target.size - target.filled >= DIRECT_MIN;
      await this.#pull(deadline, direct ? target : undefined);
    }
  }

  /** One read: into `target` directly, or into the staging chunk. */
  async #pull(deadline: Deadline | undefined, target: Target | undefined): Promise<void> {
    const pending = this.#pending ??= this.#start(target);
    let result: Result;
    try {
      result = deadline ? await deadline.race(pending.promise) : await pending.promise;
    } catch (e) {
      if (e instanceof NxError && e.code === "transport.timeout") throw e; // read stays pending
      this.#pending = undefined;
      throw new NxError("transport.closed", "cannot read frame: the connection failed", {
        cause: e,
      });
    }
    this.#pending = undefined;
    const value = result.value;
    if (pending.into) {
      if (value) {
        pending.into.bytes = new Uint8Array(value.buffer as ArrayBuffer);
        pending.into.filled += value.length;
      }
    } else if (value) {
      if (this.#byob) this.#staging = value.buffer as ArrayBuffer;
      this.#chunk = value;
    }
    if (result.done) this.#eof = true;
  }

  #start(target: Target | undefined): Pending {
    if (!this.#byob) return { promise: this.#chunks!.read(), into: undefined };
    if (target) {
      const view = new Uint8Array(target.bytes.buffer, target.filled, target.size - target.filled);
      return { promise: this.#byob.read(view), into: target };
    }
    return { promise: this.#byob.read(new Uint8Array(this.#staging!)), into: undefined };
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
