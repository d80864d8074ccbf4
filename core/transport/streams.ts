/**
 * Opens the byte stream a target names: a TCP connection, or for `serial:PATH` whatever stands at
 * PATH — a unix socket (a host-side QEMU chardev socket) or a character device / FIFO (the
 * guest's virtio port), opened read/write. Failures to reach the peer are `transport.unreachable`
 * and an open that outlasts `timeoutMs` is `transport.timeout`; what is left half-open by a
 * timeout is closed when it completes.
 */
import { NxError } from "../errors.ts";
import type { ByteStream } from "./channel.ts";
import { formatTarget, type Target } from "./target.ts";

export interface OpenStreamOptions {
  /** How long connecting (or opening the device) may take. */
  timeoutMs: number;
}

const READ_SIZE = 64 * 1024;
const FORMS_HINT = "serial:PATH names a unix socket, a character device or a FIFO";

function unreachable(target: string, reason: string, hint: string, cause?: unknown): NxError {
  return new NxError("transport.unreachable", `cannot connect to ${target}: ${reason}`, {
    hint,
    details: { target },
    cause,
  });
}

/** A close that may be called any number of times (the channel and a timeout may both close). */
function closeOnce(close: () => void): () => void {
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    try {
      close();
    } catch {
      // already closed by its own stream (EOF, a failed write): nothing left to release
    }
  };
}

function connStream(conn: Deno.Conn): ByteStream {
  return { readable: conn.readable, writable: conn.writable, close: closeOnce(() => conn.close()) };
}

/**
 * A device or FIFO as a stream. Reads happen only when the reader asks (highWaterMark 0): a
 * device read cannot be interrupted by close, so none is left pending once the channel stops
 * reading. One close releases the file, whichever side ends first.
 */
export function fileStream(file: Deno.FsFile): ByteStream {
  const close = closeOnce(() => file.close());
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(READ_SIZE);
      const n = await file.read(buffer);
      if (n === null) controller.close();
      else controller.enqueue(buffer.subarray(0, n));
    },
    cancel: close,
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
    },
    close,
    abort: close,
  });
  return { readable, writable, close };
}

/** Runs `open` under a deadline; a stream it yields after the deadline is closed at once. */
export async function within<T extends { close(): void }>(
  timeoutMs: number,
  target: string,
  open: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(
        new NxError(
          "transport.timeout",
          `cannot connect to ${target}: no answer within ${timeoutMs} ms`,
          {
            hint: "check that the agent runs and the address is right, or raise the timeout",
            details: { target, timeoutMs },
          },
        ),
      );
    }, timeoutMs);
  });
  const opening = open(controller.signal);
  try {
    return await Promise.race([opening, expired]);
  } catch (e) {
    if (controller.signal.aborted) {
      opening.then((s) => s.close(), () => {});
      throw await expired.catch((timeout) => timeout);
    }
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function openTcp(target: string, host: string, port: number, signal: AbortSignal) {
  try {
    const conn = await Deno.connect({ hostname: host, port, signal });
    conn.setNoDelay(true); // small control frames (a list, a ping) must not wait for Nagle
    return connStream(conn);
  } catch (e) {
    if (signal.aborted) throw e;
    if (e instanceof Deno.errors.TimedOut) {
      throw new NxError(
        "transport.timeout",
        `cannot connect to ${target}: the connection timed out`,
        {
          hint: "check that the host is up and no firewall drops the port",
          details: { target },
          cause: e,
        },
      );
    }
    if (e instanceof Deno.errors.NotCapable) throw e;
    const reason = e instanceof Deno.errors.ConnectionRefused
      ? "the connection was refused"
      : `${e instanceof Error ? e.message : String(e)}`;
    throw unreachable(
      target,
      reason,
      `is \`nx agent --listen tcp:${
        host.includes(":") ? `[${host}]` : host
      }:${port}\` running there?`,
      e,
    );
  }
}

async function openSerial(target: string, path: string): Promise<ByteStream> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path); // follows a link: /dev/serial/by-id/… names are links
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw unreachable(
        target,
        `${path} does not exist`,
        `start the agent (or the VM) first; ${FORMS_HINT}`,
        e,
      );
    }
    throw unreachable(target, `cannot stat ${path}`, FORMS_HINT, e);
  }
  try {
    if (info.isSocket) return connStream(await Deno.connect({ transport: "unix", path }));
    if (info.isCharDevice || info.isFifo) {
      return fileStream(await Deno.open(path, { read: true, write: true }));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) throw e;
    const reason = e instanceof Deno.errors.ConnectionRefused
      ? "nothing listens on the socket"
      : e instanceof Deno.errors.PermissionDenied
      ? "permission denied"
      : e instanceof Error
      ? e.message
      : String(e);
    throw unreachable(
      target,
      reason,
      `check that the agent (or the VM) runs and ${path} is yours to open`,
      e,
    );
  }
  throw new NxError(
    "transport.invalid_target",
    `cannot use target \`${target}\`: ${path} is not a socket or device`,
    {
      hint: FORMS_HINT,
      details: { target },
    },
  );
}

/** Opens the stream to a remote target (never `local`: a local root has no stream). */
export function openStream(target: Target, options: OpenStreamOptions): Promise<ByteStream> {
  const name = formatTarget(target);
  switch (target.kind) {
    case "tcp":
      return within(
        options.timeoutMs,
        name,
        (signal) => openTcp(name, target.host, target.port, signal),
      );
    case "serial":
      return within(options.timeoutMs, name, () => openSerial(name, target.path));
    case "local":
      return Promise.reject(
        new NxError("transport.invalid_target", "cannot open a stream: a local root has none", {
          details: { target: name },
        }),
      );
  }
}
