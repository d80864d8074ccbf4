/** In-memory and loopback byte streams for the transport tests. */
import { type ByteStream, Channel } from "./channel.ts";
import { FrameReader } from "./frame_reader.ts";

/** One direction of an in-memory pair, which the test can watch and drive. */
export interface Relay {
  /** Copies of the chunks the sender wrote (a Channel writes one frame per write). */
  readonly seen: Uint8Array[];
  /** When false, written chunks are recorded but not delivered (the test delivers them). */
  pass: boolean;
  /** Delivers raw bytes to the receiver, as if the sender had written them. */
  inject(bytes: Uint8Array): void;
  /** EOF for the receiver. */
  end(): void;
}

interface Direction {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  relay: Relay;
  /** The receiving side closed: the sender's writes now fail, as on a socket. */
  hangUp(): void;
}

function direction(bytes: boolean): Direction {
  let controller!: { enqueue(chunk: Uint8Array): void; close(): void };
  let ended = false;
  let hungUp = false;
  const source = {
    start(c: typeof controller) {
      controller = c;
    },
    cancel() {
      ended = true;
      hungUp = true;
    },
  };
  // A byte stream (as Deno.Conn's readable is) lets FrameReader read BYOB.
  const readable = bytes
    ? new ReadableStream({ ...source, type: "bytes" }) as ReadableStream<Uint8Array>
    : new ReadableStream<Uint8Array>(source);
  const relay: Relay = {
    seen: [],
    pass: true,
    inject(bytes) {
      if (!ended) controller.enqueue(bytes.slice());
    },
    end() {
      if (ended) return;
      ended = true;
      controller.close();
    },
  };
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (hungUp) throw new Error("broken pipe");
      relay.seen.push(chunk.slice());
      if (relay.pass) relay.inject(chunk);
    },
    close() {
      relay.end();
    },
  });
  return {
    readable,
    writable,
    relay,
    hangUp() {
      hungUp = true;
      relay.end();
    },
  };
}

export interface MemoryPair {
  /** The host's end (conventionally) and the agent's. */
  host: ByteStream;
  agent: ByteStream;
  toAgent: Relay;
  toHost: Relay;
}

/**
 * A connected pair of in-memory byte streams whose two directions the test controls; with
 * `bytes`, the readables are byte streams (read BYOB, as a Deno.Conn is).
 */
export function memoryPair(opts: { bytes?: boolean } = {}): MemoryPair {
  const up = direction(opts.bytes ?? false); // host → agent
  const down = direction(opts.bytes ?? false); // agent → host
  return {
    host: {
      readable: down.readable,
      writable: up.writable,
      close: () => {
        up.relay.end();
        down.hangUp();
      },
    },
    agent: {
      readable: up.readable,
      writable: down.writable,
      close: () => {
        down.relay.end();
        up.hangUp();
      },
    },
    toAgent: up.relay,
    toHost: down.relay,
  };
}

/** A connected 127.0.0.1 TCP pair (client = host, server = agent). */
export async function tcpPair(): Promise<{ host: Deno.Conn; agent: Deno.Conn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [agent, host] = await Promise.all([
      listener.accept(),
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    ]);
    return { host, agent };
  } finally {
    listener.close();
  }
}

/** Fixed test keys (seeds 1…) as core/trust KeyPairs. */
export { keyPairFromSeed } from "../trust/mod.ts";
export function seed(n: number): Uint8Array {
  return new Uint8Array(32).fill(n);
}

/** Two channels over `pair` with fixed session keys (no handshake), for the channel tests. */
export async function channelPair(
  pair: MemoryPair = memoryPair(),
): Promise<{ host: Channel; agent: Channel; pair: MemoryPair }> {
  const hostToAgent = new Uint8Array(32).fill(0xa1);
  const agentToHost = new Uint8Array(32).fill(0xb2);
  const open = (stream: ByteStream, role: "host" | "agent") =>
    Channel.open({
      stream,
      reader: new FrameReader(stream.readable),
      writer: stream.writable.getWriter(),
      role,
      sendKey: role === "host" ? hostToAgent : agentToHost,
      receiveKey: role === "host" ? agentToHost : hostToAgent,
      peerKey: undefined,
      session: "0".repeat(32),
    });
  return { host: await open(pair.host, "host"), agent: await open(pair.agent, "agent"), pair };
}
