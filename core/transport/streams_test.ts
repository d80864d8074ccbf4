import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { ByteStream } from "./channel.ts";
import { openStream, within } from "./streams.ts";

const OPTS = { timeoutMs: 5_000 };
const bytes = (text: string) => new TextEncoder().encode(text);

function code(e: unknown): string {
  assert.ok(e instanceof NxError, String(e));
  return e.code;
}

async function write(stream: ByteStream, data: Uint8Array): Promise<void> {
  const writer = stream.writable.getWriter();
  await writer.write(data);
  writer.releaseLock();
}

/** Reads until `n` bytes arrived (or EOF). */
async function readN(stream: ByteStream, n: number): Promise<Uint8Array> {
  const reader = stream.readable.getReader();
  const out: number[] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(...value);
  }
  reader.releaseLock();
  return new Uint8Array(out);
}

/** Accepts one connection and echoes what it reads until EOF. */
async function echoOnce(listener: Deno.Listener): Promise<void> {
  const conn = await listener.accept();
  await conn.readable.pipeTo(conn.writable).catch(() => {});
}

Deno.test("openStream() connects over tcp and carries bytes both ways", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echoed = echoOnce(listener);
  const stream = await openStream(
    { kind: "tcp", host: "127.0.0.1", port: listener.addr.port },
    OPTS,
  );
  await write(stream, bytes("ping"));
  assert.deepEqual(await readN(stream, 4), bytes("ping"));
  stream.close();
  stream.close(); // a second close is harmless
  await echoed;
  listener.close();
});

Deno.test("openStream() on a tcp port nobody listens on is transport.unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const e = await openStream({ kind: "tcp", host: "127.0.0.1", port }, OPTS).catch((e) => e);
  assert.equal(code(e), "transport.unreachable");
  assert.ok((e as NxError).hint);
  assert.equal((e as NxError).details?.target, `tcp:127.0.0.1:${port}`);
});

Deno.test("openStream() on serial:PATH of a unix socket connects to it", async () => {
  const path = join(await Deno.makeTempDir(), "agent.sock");
  const listener = Deno.listen({ transport: "unix", path });
  const echoed = echoOnce(listener);
  const stream = await openStream({ kind: "serial", path }, OPTS);
  await write(stream, bytes("over unix"));
  assert.deepEqual(await readN(stream, 9), bytes("over unix"));
  stream.close();
  await echoed;
  listener.close();
});

Deno.test("openStream() on a unix socket nobody listens on is transport.unreachable", async () => {
  const path = join(await Deno.makeTempDir(), "stale.sock");
  Deno.listen({ transport: "unix", path }).close(); // the socket file stays behind
  const e = await openStream({ kind: "serial", path }, OPTS).catch((e) => e);
  assert.equal(code(e), "transport.unreachable");
});

Deno.test("openStream() opens a FIFO read/write as a stream", async () => {
  const path = join(await Deno.makeTempDir(), "port");
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(made.success);
  const stream = await openStream({ kind: "serial", path }, OPTS);
  // one FIFO opened read/write reads back what it was given
  await write(stream, bytes("fifo"));
  assert.deepEqual(await readN(stream, 4), bytes("fifo"));
  stream.close();
  stream.close();
});

Deno.test("openStream() opens a character device (/dev/null: writes vanish, reads end)", async () => {
  const stream = await openStream({ kind: "serial", path: "/dev/null" }, OPTS);
  await write(stream, bytes("gone"));
  const reader = stream.readable.getReader();
  assert.equal((await reader.read()).done, true);
  reader.releaseLock();
  stream.close();
});

Deno.test("openStream() on a missing path is transport.unreachable", async () => {
  const path = join(await Deno.makeTempDir(), "absent");
  assert.equal(
    code(await openStream({ kind: "serial", path }, OPTS).catch((e) => e)),
    "transport.unreachable",
  );
});

Deno.test("openStream() on a regular file or the local target is transport.invalid_target", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "plain");
  await Deno.writeTextFile(path, "not a device");
  for (
    const target of [
      { kind: "serial", path } as const,
      { kind: "serial", path: dir } as const,
      { kind: "local" } as const,
    ]
  ) {
    assert.equal(code(await openStream(target, OPTS).catch((e) => e)), "transport.invalid_target");
  }
});

Deno.test("within() turns a slow open into transport.timeout and closes what it yields late", async () => {
  let late!: () => void;
  let closed = false;
  let aborted = false;
  const slow = within(20, "tcp:slow:1", (signal) => {
    signal.addEventListener("abort", () => (aborted = true));
    return new Promise<{ close(): void }>((resolve) => {
      late = () => resolve({ close: () => (closed = true) });
    });
  });
  assert.equal(code(await slow.catch((e) => e)), "transport.timeout");
  assert.ok(aborted);
  late();
  await new Promise((r) => setTimeout(r, 0));
  assert.ok(closed);
});

Deno.test("within() passes an open that finishes in time, and its failure", async () => {
  const stream = { close() {} };
  assert.equal(await within(5_000, "t", () => Promise.resolve(stream)), stream);
  const failure = new NxError("transport.unreachable", "cannot connect to t: refused");
  assert.equal(await within(5_000, "t", () => Promise.reject(failure)).catch((e) => e), failure);
});
