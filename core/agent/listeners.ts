/**
 * Where an agent listens (`--listen`): `tcp:HOST:PORT` (port 0 picks a free one; the address
 * then names the port chosen) and `serial:PATH` — a character device opened read/write (the
 * guest's virtio port) or a unix socket the agent connects to (a host-side QEMU chardev socket).
 *
 * A serial line has no connection boundary: it carries one session after another. The agent
 * skips bytes until a HELLO frame's header, serves that session, and when it ends (bye, a failed
 * frame, idle) looks for the next HELLO — first among the bytes the ended session read, so a new
 * host's HELLO that arrived while a vanished host's session was still open (it can send no EOF
 * on a serial line) starts the next session instead of being lost. At EOF the line is opened
 * again after a short delay (a socket whose peer went, a port whose host side closed).
 */
import { concatBytes } from "../bytes/mod.ts";
import {
  type ByteStream,
  formatTarget,
  FrameType,
  HEADER_SIZE,
  MAGIC,
  openStream,
  parseTarget,
  PROTOCOL_VERSION,
} from "../transport/mod.ts";

export interface Listener {
  /** `tcp:HOST:PORT` with the port in use, or `serial:PATH`. */
  readonly address: string;
  /** The streams to serve: TCP connections as they come, a serial line's sessions in turn. */
  streams(): AsyncIterable<ByteStream>;
  /** Stops listening (streams already handed out stay open). */
  close(): void;
}

export interface ListenOptions {
  /** How long opening a serial line may take. */
  openTimeoutMs?: number;
  /** The pause before a serial line at EOF (or failing to open) is opened again. */
  reopenDelayMs?: number;
  /** Told when a serial line fails to open again (it keeps trying). */
  onError?: (e: unknown) => void;
}

/** Opens the listener a `--listen` value names; a serial line must open now. */
export async function listen(text: string, o: ListenOptions = {}): Promise<Listener> {
  const target = parseTarget(text, { listen: true });
  if (target.kind === "tcp") return tcpListener(target.host, target.port, o);
  if (target.kind === "serial") {
    const open = () =>
      openStream({ kind: "serial", path: target.path }, { timeoutMs: o.openTimeoutMs ?? 10_000 });
    return new SerialListener(formatTarget(target), open, await open(), o);
  }
  throw new Error(`parseTarget gave a ${target.kind} target for --listen`);
}

function tcpListener(host: string, port: number, o: ListenOptions): Listener {
  const listener = Deno.listen({ hostname: host, port, transport: "tcp" });
  const address = formatTarget({ kind: "tcp", host, port: listener.addr.port });
  const stop = new AbortController();
  return {
    address,
    async *streams() {
      while (!stop.signal.aborted) {
        let conn: Deno.TcpConn;
        try {
          conn = await listener.accept();
        } catch (e) {
          if (stop.signal.aborted) return;
          // Out of descriptors under a flood, say: the listener stays, and tries again.
          o.onError?.(e);
          await delay(100, stop.signal);
          continue;
        }
        conn.setNoDelay(true); // small control frames must not wait for Nagle
        yield {
          readable: conn.readable,
          writable: conn.writable,
          close: () => {
            try {
              conn.close();
            } catch { /* closed already */ }
          },
        };
      }
    },
    close: () => {
      stop.abort();
      try {
        listener.close();
      } catch { /* closed already */ }
    },
  };
}

const delay = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

class SerialListener implements Listener {
  readonly #stop = new AbortController();
  #line: SerialLine | undefined;

  constructor(
    readonly address: string,
    private readonly open: () => Promise<ByteStream>,
    private first: ByteStream | undefined,
    private readonly o: ListenOptions,
  ) {}

  async *streams(): AsyncIterable<ByteStream> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      let device = this.first;
      this.first = undefined;
      if (!device) {
        try {
          device = await this.open();
        } catch (e) {
          this.o.onError?.(e);
          await delay(this.o.reopenDelayMs ?? 1_000, signal);
          continue;
        }
      }
      const line = this.#line = new SerialLine(device);
      try {
        for (let session; !signal.aborted && (session = await line.nextSession());) {
          yield session;
          await session.ended;
        }
      } finally {
        line.close();
      }
      await delay(this.o.reopenDelayMs ?? 1_000, signal);
    }
  }

  close(): void {
    this.#stop.abort();
    this.#line?.close();
  }
}

/** The bytes a session read that are kept for the next HELLO search (see the module comment). */
const HISTORY = 64 * 1024;
/** A HELLO body is a small JSON object: a header claiming more is not a HELLO. */
const MAX_HELLO = 1024;

/**
 * Where a HELLO frame starts in `bytes` at or after `from` (its header, a plausible length and a
 * JSON object body), scanning from the end when `last`; -1 when none. A header cut off at the end
 * of `bytes` counts as a start (more bytes decide).
 */
export function findHello(bytes: Uint8Array, from = 0, last = false): number {
  const plausible = (at: number) => {
    const head = [MAGIC >> 8, MAGIC & 0xff, PROTOCOL_VERSION, FrameType.HELLO];
    for (let i = 0; i < head.length; i++) {
      if (at + i >= bytes.length) return true;
      if (bytes[at + i] !== head[i]) return false;
    }
    if (at + HEADER_SIZE > bytes.length) return true;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4);
    if (view.getUint32(0) > MAX_HELLO) return false;
    return at + HEADER_SIZE >= bytes.length || bytes[at + HEADER_SIZE] === 0x7b; // "{"
  };
  if (last) {
    for (let at = bytes.length - 1; at >= from; at--) if (plausible(at)) return at;
  } else {
    for (let at = from; at < bytes.length; at++) if (plausible(at)) return at;
  }
  return -1;
}

interface Session extends ByteStream {
  /** Resolves when the session's stream was closed. */
  ended: Promise<void>;
}

/** One serial line, cut into sessions. */
export class SerialLine {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Read from the device, not handed to any session yet. */
  #buffer: Uint8Array = new Uint8Array(0);
  #reading: Promise<Uint8Array | null> | undefined;
  #eof = false;

  constructor(private readonly device: ByteStream) {
    this.#reader = device.readable.getReader();
    this.#writer = device.writable.getWriter();
  }

  /**
   * The next bytes: the unread ones first, else one device read (null at EOF). A read has one
   * owner: the first waiter claims it, a later one looks again (the owner may have put it back).
   */
  async #read(): Promise<Uint8Array | null> {
    for (;;) {
      if (this.#buffer.length > 0) {
        const chunk = this.#buffer;
        this.#buffer = new Uint8Array(0);
        return chunk;
      }
      if (this.#eof) return null;
      const reading = this.#reading ??= this.#reader.read().then(
        (r) => (r.done ? null : r.value),
        () => null,
      );
      const chunk = await reading;
      if (this.#reading !== reading) continue;
      this.#reading = undefined;
      if (chunk === null) this.#eof = true;
      return chunk;
    }
  }

  /** Puts back bytes read before those still unread. */
  #unread(bytes: Uint8Array): void {
    this.#buffer = this.#buffer.length === 0 ? bytes : concatBytes([bytes, this.#buffer]);
  }

  /** Puts back bytes read after those still unread. */
  #putBack(bytes: Uint8Array): void {
    this.#buffer = this.#buffer.length === 0 ? bytes : concatBytes([this.#buffer, bytes]);
  }

  /** Skips to the next HELLO and opens a session there; null at EOF. */
  async nextSession(): Promise<Session | null> {
    let seen: Uint8Array = new Uint8Array(0);
    for (;;) {
      const at = findHello(seen);
      if (at >= 0 && seen.length - at >= HEADER_SIZE + 1) {
        this.#unread(seen.subarray(at));
        return this.#session();
      }
      // keep only what may be the start of a header cut off by the read
      seen = at >= 0 ? seen.subarray(at) : seen.subarray(Math.max(0, seen.length - HEADER_SIZE));
      const chunk = await this.#read();
      if (chunk === null) return null;
      seen = concatBytes([seen, chunk]);
    }
  }

  #session(): Session {
    let closed = false;
    let end!: () => void;
    const ended = new Promise<void>((resolve) => (end = resolve));
    let history: Uint8Array = new Uint8Array(0);
    let delivered = 0;
    const close = () => {
      if (closed) return;
      closed = true;
      // A HELLO the ended session swallowed starts the next one (never its own, at offset 0).
      const skip = Math.max(0, history.length - delivered + 1);
      const at = findHello(history, skip, true);
      if (at >= 0) this.#unread(history.subarray(at));
      end();
    };
    const readable = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const chunk = closed ? null : await this.#read();
        if (closed) {
          if (chunk) this.#putBack(chunk); // read for a session that ended meanwhile
          try {
            controller.close();
          } catch { /* cancelled */ }
          return;
        }
        if (chunk === null) return controller.close();
        history = concatBytes([history, chunk]).slice(-HISTORY);
        delivered += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: close,
    }, { highWaterMark: 0 });
    const writable = new WritableStream<Uint8Array>({
      write: async (chunk) => {
        if (closed) throw new Error("the session is over");
        await this.#writer.write(chunk);
      },
    });
    return { readable, writable, close, ended };
  }

  close(): void {
    this.#reader.cancel().catch(() => {});
    this.#writer.releaseLock();
    try {
      this.device.close();
    } catch { /* closed already */ }
  }
}
