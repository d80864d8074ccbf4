/**
 * The raw floor of the protocol's throughput: the same bytes over the same kind of socket
 * (loopback TCP) to a Deno subprocess (as the agent is), with no protocol at all: no frames, no
 * MAC, no hashing. The sink is _agent_sink.ts; the sender ({@link rawCopy}) runs in the bench
 * process, like the in-process protocol client, reading the files as sendFiles does (async reads
 * into 256 KiB writes, files packed back to back).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { UPLOAD_CHUNK } from "../../core/transport/mod.ts";
import { DENO, REPO } from "../helpers.ts";
import { readExactly, SINK_CHUNK, writeAllTo } from "./_agent_sink.ts";

if (SINK_CHUNK !== UPLOAD_CHUNK) throw new Error("the raw sink must read as the agent receives");

/** The sink subprocess. */
export class RawSink {
  private constructor(readonly port: number, private readonly child: Deno.ChildProcess) {}

  static async start(): Promise<RawSink> {
    const child = new Deno.Command(DENO, {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        fileURLToPath(new URL("./_agent_sink.ts", import.meta.url)),
      ],
      cwd: REPO,
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("cannot start the raw TCP sink: it exited");
      text += value;
    }
    reader.releaseLock();
    child.stdout.cancel().catch(() => {});
    return new RawSink(Number(text.trim()), child);
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await this.child.status;
  }
}

/**
 * Sends `files` (below `bundle`) raw to the sink on a connection opened beforehand; the clock
 * runs from the header to the sink's byte count, as the protocol's from `offer` to `stored`.
 * With `dir`, the sink writes the files there. Returns the time and the bytes the sink counted.
 */
export async function rawCopy(
  sinkPort: number,
  bundle: string,
  files: { path: string; size: number }[],
  dir?: string,
): Promise<{ ms: number; bytes: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: sinkPort });
  try {
    const start = performance.now();
    const json = new TextEncoder().encode(JSON.stringify({ files, dir }));
    const head = new Uint8Array(4 + json.length);
    new DataView(head.buffer).setUint32(0, json.length);
    head.set(json, 4);
    await writeAllTo(conn, head);
    let frame = new Uint8Array(UPLOAD_CHUNK);
    let fill = 0;
    for (const file of files) {
      const handle = await Deno.open(join(bundle, file.path), { read: true });
      try {
        for (let read = 0; read < file.size;) {
          if (fill === frame.length) {
            await writeAllTo(conn, frame);
            frame = new Uint8Array(UPLOAD_CHUNK);
            fill = 0;
          }
          const n = await handle.read(frame.subarray(fill, fill + file.size - read));
          if (n === null) throw new Error(`cannot copy ${file.path}: it shrank`);
          fill += n;
          read += n;
        }
      } finally {
        handle.close();
      }
    }
    if (fill > 0) await writeAllTo(conn, frame.subarray(0, fill));
    const ack = new Uint8Array(8);
    await readExactly(conn, ack);
    const ms = performance.now() - start;
    return { ms, bytes: Number(new DataView(ack.buffer).getBigUint64(0)) };
  } finally {
    conn.close();
  }
}
