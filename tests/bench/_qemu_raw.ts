/**
 * QEMU suite, the raw floor: the bundle's bytes, with no protocol at all (no frames, MAC or
 * hashing), over the channel the agent is reached by, to the sink a bench guest's init runs
 * (qemu/guest/init, nx.bench=1: Deno, as the agent is, reading 256 KiB at a time; optionally
 * hashing them, the least an agent must do with received bytes).
 *
 * - tcp: the host port QEMU forwards to the sink (user networking, as `tcp:` reaches the agent).
 * - serial: QEMU's virtio-serial chardev socket, through the guest's nc bridge to loopback TCP,
 *   exactly the path of `serial:` to the agent; a TCP message to the sink first (untimed) arms
 *   the bridge to take the next connection to the sink instead of the agent.
 *
 * The sink says one byte once its end of the connection is up (untimed: over serial the bridge
 * starts within ~0.1 s of the host's connect, over tcp user networking accepts before the
 * guest), then the clock runs from the header to the sink's answer, which it sends only after
 * every byte arrived: the time covers delivery, not just the host's writes. The sender reads the
 * files as sendFiles does (async reads packed back to back into 256 KiB writes).
 */
import { join } from "node:path";
import { UPLOAD_CHUNK } from "../../core/transport/mod.ts";
import { writeAllTo } from "./_agent_sink.ts";
import type { BenchGuest, Via } from "./_qemu_guest.ts";

export interface RawRun {
  ms: number;
  /** What the sink counted, and the address it saw the connection come from. */
  bytes: number;
  from: string;
  /** With `hash`: the SHA-256 of every byte, as the sink computed it. */
  sha256?: string;
}

export class GuestSink {
  /** `tcpPort`: the host port forwarded to the sink (BenchGuest.forwardSink). */
  constructor(private readonly guest: BenchGuest, private readonly tcpPort: number) {}

  async #open(via: Via): Promise<Deno.Conn> {
    const conn = via === "tcp"
      ? await Deno.connect({ hostname: "127.0.0.1", port: this.tcpPort })
      : await Deno.connect({ transport: "unix", path: this.guest.serialSocket });
    const hello = new Uint8Array(1);
    if (await conn.read(hello) !== 1) {
      conn.close();
      throw new Error(`cannot reach the guest's sink over ${via}: it closed`);
    }
    return conn;
  }

  /**
   * One raw copy of `files` below `bundle` over `via` (see the module comment); with `hash` the
   * sink also takes the SHA-256 of every byte before it answers.
   */
  async copy(
    via: Via,
    bundle: string,
    files: { path: string; size: number }[],
    hash = false,
  ): Promise<RawRun> {
    if (via === "serial") await this.#exchange(await this.#open("tcp"), { route: "serial" });
    const conn = await this.#open(via);
    // Over serial, this connection's nc runs now: every earlier one has logged (bridgeDone).
    const runs = via === "serial" ? await this.guest.bridgeRuns() : 0;
    const start = performance.now();
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const answer = await this.#exchange(conn, hash ? { hash } : {}, async () => {
      let frame = new Uint8Array(UPLOAD_CHUNK);
      let fill = 0;
      for (const file of files) {
        using handle = await Deno.open(join(bundle, file.path), { read: true });
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
      }
      if (fill > 0) await writeAllTo(conn, frame.subarray(0, fill));
    }, bytes);
    const ms = performance.now() - start;
    if (via === "serial") await this.guest.bridgeDone(runs);
    return { ms, ...answer };
  }

  /** Header, then the body's bytes, then the sink's JSON line; closes the connection. */
  async #exchange(
    conn: Deno.Conn,
    header: { route?: Via; hash?: boolean },
    body: () => Promise<void> = async () => {},
    bytes = 0,
  ): Promise<Omit<RawRun, "ms">> {
    try {
      const json = new TextEncoder().encode(JSON.stringify({ bytes, ...header }));
      const head = new Uint8Array(4 + json.length);
      new DataView(head.buffer).setUint32(0, json.length);
      head.set(json, 4);
      await writeAllTo(conn, head);
      await body();
      let text = "";
      const buffer = new Uint8Array(256);
      while (!text.includes("\n")) {
        const n = await conn.read(buffer);
        if (n === null) throw new Error(`the guest's sink closed without an answer: ${text}`);
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      return JSON.parse(text) as Omit<RawRun, "ms">;
    } finally {
      conn.close();
    }
  }
}
