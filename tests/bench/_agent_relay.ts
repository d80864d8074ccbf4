/**
 * A counting TCP relay between a host and an agent: it listens on 127.0.0.1, connects each
 * accepted connection to the agent, copies both directions and counts the bytes of each — every
 * byte on the wire: handshake, control frames, DATA frames, their headers and MACs.
 */
export interface WireBytes {
  /** Host → agent. */
  sent: number;
  /** Agent → host. */
  received: number;
}

async function pump(from: Deno.Conn, to: Deno.Conn): Promise<number> {
  const buffer = new Uint8Array(64 * 1024);
  let total = 0;
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      for (let at = 0; at < n;) at += await to.write(buffer.subarray(at, n));
      total += n;
    }
  } catch {
    // a side reset the connection: what got through is counted
  }
  await to.closeWrite().catch(() => {});
  return total;
}

export class CountingRelay {
  readonly #listener: Deno.Listener;
  readonly #done: Promise<WireBytes>[] = [];
  readonly #accepting: Promise<void>;

  constructor(agentPort: number) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      for await (const host of listener) {
        this.#done.push((async () => {
          const agent = await Deno.connect({ hostname: "127.0.0.1", port: agentPort });
          const [sent, received] = await Promise.all([pump(host, agent), pump(agent, host)]);
          host.close();
          agent.close();
          return { sent, received };
        })());
      }
    })().catch(() => {});
  }

  get target(): string {
    return `tcp:127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** The counts of every connection relayed so far, once each has ended. */
  async settle(): Promise<WireBytes[]> {
    return await Promise.all(this.#done.splice(0));
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    await this.settle();
  }
}
