/**
 * A real `nx agent` subprocess for end-to-end tests, the host identities that talk to it, and raw
 * wire tools (frames, in-process sessions) for the attack suites.
 *
 * Every agent has its own root, authorized-keys file and stderr log; every host its own identity
 * and XDG_CONFIG_HOME, passed to the subprocesses it runs (never set in this process: test files
 * share one). Waits are conditions — a stderr line, a closed socket, a process exit — never sleeps.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type KeyPair } from "../core/trust/mod.ts";
import { loadSecretKey } from "../core/pkgr/mod.ts";
import {
  type ByteStream,
  type Channel,
  connectHandshake,
  type Frame,
  FrameReader,
  FrameType,
} from "../core/transport/mod.ts";
import { nx, nxCommandLine, type NxRun, tempDir } from "./helpers.ts";

/** A host: its identity key pair (files) and its own config directory. */
export interface Host {
  key: string;
  pub: string;
  /** The subprocess environment: XDG_CONFIG_HOME of this host alone. */
  env: Record<string, string>;
}

/** Makes a host identity with `nx pkg keygen` in a fresh directory. */
export async function newHost(name = "host"): Promise<Host> {
  const dir = await tempDir("nx-host-");
  const r = await nx(["pkg", "keygen", "--out", join(dir, "keys"), "--name", name, "--json"]);
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  const config = join(dir, "config");
  await Deno.mkdir(config);
  return {
    key: r.json!.data.secretKey,
    pub: r.json!.data.publicKey,
    env: { XDG_CONFIG_HOME: config },
  };
}

/** An `--authorized-keys` file listing the hosts' public keys (PEM blocks, a comment first). */
export async function authorizedKeys(hosts: Host[]): Promise<string> {
  const path = join(await tempDir("nx-authorized-"), "authorized_keys");
  const blocks = await Promise.all(hosts.map((h) => Deno.readTextFile(h.pub)));
  await Deno.writeTextFile(path, `# hosts allowed to drive this agent\n${blocks.join("\n")}`);
  return path;
}

/** Runs `nx <args>` on the agent(s) at `targets` as `host` (`--transport … --identity …`). */
export function nxOn(host: Host, targets: string[], args: string[]): Promise<NxRun> {
  const via = targets.flatMap((t) => ["--transport", t]);
  return nx([...args, ...via, "--identity", host.key], { env: host.env });
}

/** Starts `nx <args> --json` as `host` on `address`, a process the test can kill. */
export function spawnOn(host: Host, address: string, args: string[]): Deno.ChildProcess {
  const line = nxCommandLine([...args, "--transport", address, "--identity", host.key, "--json"]);
  return new Deno.Command(line.cmd, {
    args: line.args,
    env: { NO_COLOR: "1", ...host.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Resolves once nobody holds the root's writer lock (its holder empties `pkg/lock`). */
export async function untilLockFree(root: string): Promise<void> {
  while ((await Deno.readTextFile(join(root, "pkg", "lock"))) !== "") {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A running `nx agent`: its address, its stderr as lines, and a clean stop. */
export class Agent implements AsyncDisposable {
  readonly lines: string[] = [];
  #status: Deno.CommandStatus | undefined;
  #ended = false;
  #wake: () => void = () => {};
  #read: Promise<void>;

  private constructor(
    readonly child: Deno.ChildProcess,
    readonly root: string,
  ) {
    this.#read = this.#readStderr();
    child.status.then((s) => (this.#status = s));
  }

  /**
   * Starts `nx agent --root ROOT --listen tcp:127.0.0.1:0 --authorized-keys KEYS [args]` and
   * resolves once it printed `pkgr: ready`.
   */
  static async start(
    o: { root: string; authorizedKeys: string; args?: string[]; env?: Record<string, string> },
  ): Promise<Agent> {
    const line = nxCommandLine([
      "agent",
      "--root",
      o.root,
      "--listen",
      "tcp:127.0.0.1:0",
      "--authorized-keys",
      o.authorizedKeys,
      ...(o.args ?? []),
    ]);
    const child = new Deno.Command(line.cmd, {
      args: line.args,
      env: { NO_COLOR: "1", NX_MARKERS: "", ...o.env },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const agent = new Agent(child, o.root);
    await agent.until((lines) => lines.includes("pkgr: ready"));
    return agent;
  }

  async #readStderr(): Promise<void> {
    let rest = "";
    for await (const chunk of this.child.stderr.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      this.lines.push(...parts);
      this.#wake();
    }
    if (rest) this.lines.push(rest);
    this.#ended = true;
    this.#wake();
  }

  /** `tcp:127.0.0.1:PORT`, as the agent printed it. */
  get address(): string {
    const line = this.lines.find((l) => l.startsWith("agent: listening tcp:"));
    assert.ok(line, this.lines.join("\n"));
    return line.slice("agent: listening ".length);
  }

  get port(): number {
    return Number(this.address.split(":").at(-1));
  }

  /** Where the next stderr line will be: `since(mark)` gives the lines printed after it. */
  mark(): number {
    return this.lines.length;
  }

  since(mark: number): string[] {
    return this.lines.slice(mark);
  }

  /** Resolves once `cond` holds for the stderr lines; fails if the agent's stderr ends first. */
  async until(cond: (lines: string[]) => boolean): Promise<void> {
    while (!cond(this.lines)) {
      if (this.#ended) throw new Error(`the agent's stderr ended:\n${this.lines.join("\n")}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Warnings (`warning: … (code)`) printed since `mark`, by code. */
  warnings(mark: number): string[] {
    return this.since(mark).flatMap((l) => {
      const m = /^warning: .* \(([a-z_]+\.[a-z_]+)\)$/.exec(l);
      return m ? [m[1]] : [];
    });
  }

  /**
   * A barrier on the agent's log: sends it a connection of noise and waits for the warning that
   * connection earns. Lines the agent printed before serving it are then all read.
   */
  async sync(): Promise<void> {
    const before = this.warnings(0).length;
    const conn = await this.connect();
    await writeAll(conn, new TextEncoder().encode("sync sync sync"));
    assert.equal(refusal(await frames(conn).next()), "transport.bad_frame");
    hangUp(conn);
    await this.until(() => this.warnings(0).length > before);
  }

  connect(): Promise<Deno.TcpConn> {
    return Deno.connect({ hostname: "127.0.0.1", port: this.port });
  }

  get running(): boolean {
    return this.#status === undefined;
  }

  /** SIGTERM: the agent drains and must exit 0. */
  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    const status = await this.child.status;
    await this.#read;
    assert.equal(status.code, 0, `the agent's exit on SIGTERM:\n${this.lines.join("\n")}`);
  }

  /** SIGKILL, as a crash: no drain. */
  async kill(): Promise<void> {
    this.child.kill("SIGKILL");
    await this.child.status;
    await this.#read;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.running) await this.stop();
    else await this.#read;
  }
}

// ---- raw wire tools ----

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await conn.write(bytes.subarray(at));
}

/** Closes a raw connection, which a stream that reached its end has already closed. */
export function hangUp(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BadResource)) throw e;
  }
}

/** The frames the agent sends on a raw connection (`next()`; null: it closed). */
export function frames(conn: Deno.Conn): FrameReader {
  return new FrameReader(conn.readable);
}

/** The code of a REFUSE frame (an ErrorValue body). */
export function refusal(frame: Frame | null): string {
  assert.ok(frame, "the agent closed without a REFUSE");
  assert.equal(frame.type, FrameType.REFUSE, `a REFUSE frame, not type ${frame.type}`);
  return JSON.parse(new TextDecoder().decode(frame.body)).code;
}

export function identityOf(host: Host): Promise<KeyPair> {
  return loadSecretKey(host.key);
}

/** An authenticated in-process session with raw access to the socket under it. */
export interface RawSession {
  channel: Channel;
  /** Bytes written straight to the socket, past the channel (no MAC, no framing). */
  raw(bytes: Uint8Array): Promise<void>;
  close(): void;
}

export async function rawSession(agent: Agent, identity: KeyPair): Promise<RawSession> {
  const conn = await agent.connect();
  const stream: ByteStream = {
    readable: conn.readable,
    writable: new WritableStream({ write: (chunk) => writeAll(conn, chunk) }),
    close: () => hangUp(conn),
  };
  const channel = await connectHandshake(stream, { identity, target: agent.address });
  return { channel, raw: (bytes) => writeAll(conn, bytes), close: () => channel.close() };
}

/** What a relay does with one whole frame: forward `send` (default: the frame), then maybe hold. */
export interface RelayAction {
  send?: Uint8Array;
  /** Forward nothing more in this direction (what arrives is read and dropped). */
  hold?: boolean;
}

/** Sees each whole frame of one direction (`index` counts that direction's frames from 0). */
export type FrameHook = (frame: Uint8Array, index: number) => RelayAction | undefined;

/** Total size of the frame whose header `head` is (8 bytes of header, body, MAC if any). */
function frameSize(head: Uint8Array): number {
  const length = new DataView(head.buffer, head.byteOffset, 8).getUint32(4);
  const maced = head[3] === FrameType.CONTROL || head[3] === FrameType.DATA;
  return 8 + length + (maced ? 32 : 0);
}

/**
 * A man in the middle on 127.0.0.1 for one host connection to `agent`: it cuts each direction
 * into frames, records them, and lets hooks change, cut or hold them. When either side closes,
 * it closes both (the host vanishing is the agent's EOF).
 */
export class Relay {
  readonly toAgent: Uint8Array[] = [];
  readonly toHost: Uint8Array[] = [];
  /** Resolves when a hook held its direction. */
  readonly held: Promise<void>;
  /** Resolves when both sides are closed. */
  readonly done: Promise<void>;
  #onHold!: () => void;
  readonly #listener: Deno.TcpListener;

  constructor(agent: Agent, hooks: { toAgent?: FrameHook; toHost?: FrameHook } = {}) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.held = new Promise((resolve) => (this.#onHold = resolve));
    this.done = (async () => {
      const host = await listener.accept();
      listener.close();
      const upstream = await agent.connect();
      let open = true;
      const closeBoth = () => {
        if (!open) return;
        open = false;
        hangUp(host);
        hangUp(upstream);
      };
      await Promise.all([
        this.#pump(host, upstream, this.toAgent, hooks.toAgent).finally(closeBoth),
        this.#pump(upstream, host, this.toHost, hooks.toHost).finally(closeBoth),
      ]);
    })();
  }

  get address(): string {
    return `tcp:127.0.0.1:${this.#listener.addr.port}`;
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, record: Uint8Array[], hook?: FrameHook) {
    const chunk = new Uint8Array(64 * 1024);
    let pending = new Uint8Array(0);
    let holding = false;
    try {
      for (let n; (n = await from.read(chunk)) !== null;) {
        if (holding) continue;
        const joined = new Uint8Array(pending.length + n);
        joined.set(pending);
        joined.set(chunk.subarray(0, n), pending.length);
        pending = joined;
        while (!holding && pending.length >= 8 && pending.length >= frameSize(pending)) {
          const frame = pending.slice(0, frameSize(pending));
          pending = pending.slice(frame.length);
          record.push(frame);
          const action = hook?.(frame, record.length - 1) ?? {};
          await writeAll(to, action.send ?? frame);
          if (action.hold) {
            holding = true;
            this.#onHold();
          }
        }
      }
    } catch { /* a side closed: the other one is closed too */ }
  }
}
