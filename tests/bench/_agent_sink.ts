/**
 * The raw TCP sink (run as a program by _agent_raw.ts): listens on 127.0.0.1, prints its port,
 * and per connection reads a header (u32be length, then JSON `{files: [{path, size}], dir?}`),
 * then the files' bytes back to back. Without `dir` it drops them; with `dir` it writes each file
 * below it (a raw copy). Once every byte arrived it answers their count (u64be). Reads go into a
 * 256 KiB buffer (UPLOAD_CHUNK, checked by _agent_raw.ts). No import of core: nothing but the
 * socket and the files.
 */
import { dirname, join } from "node:path";

export const SINK_CHUNK = 256 * 1024;

interface Header {
  files: { path: string; size: number }[];
  dir?: string;
}

export async function readExactly(conn: Deno.Conn, into: Uint8Array): Promise<void> {
  for (let at = 0; at < into.length;) {
    const n = await conn.read(into.subarray(at));
    if (n === null) throw new Error("the sender closed early");
    at += n;
  }
}

export async function writeAllTo(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** The sink's side of one connection. */
async function sink(conn: Deno.Conn): Promise<void> {
  const length = new Uint8Array(4);
  await readExactly(conn, length);
  const json = new Uint8Array(new DataView(length.buffer).getUint32(0));
  await readExactly(conn, json);
  const header = JSON.parse(new TextDecoder().decode(json)) as Header;
  const buffer = new Uint8Array(SINK_CHUNK);
  let received = 0;
  for (const file of header.files) {
    const out = header.dir === undefined ? undefined : create(join(header.dir, file.path));
    for (let left = file.size; left > 0;) {
      const n = await conn.read(buffer.subarray(0, Math.min(left, buffer.length)));
      if (n === null) throw new Error("the sender closed early");
      if (out) { for (let at = 0; at < n;) at += out.writeSync(buffer.subarray(at, n)); }
      left -= n;
      received += n;
    }
    out?.close();
  }
  const ack = new Uint8Array(8);
  new DataView(ack.buffer).setBigUint64(0, BigInt(received));
  await writeAllTo(conn, ack);
}

function create(path: string): Deno.FsFile {
  Deno.mkdirSync(dirname(path), { recursive: true });
  return Deno.openSync(path, { write: true, createNew: true, mode: 0o444 });
}

async function serve(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  for await (const conn of listener) {
    sink(conn).catch((e) => console.error(`sink: ${e}`)).finally(() => conn.close());
  }
}

if (import.meta.main) await serve();
