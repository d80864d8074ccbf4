/**
 * `nx agent`: one local Pkgr on one state root, served on every listener at once
 * (docs/protocol.md). Each connection is served on its own (connection.ts); readers run
 * concurrently, and writers meet at the root's lock exactly as local commands do (a second
 * writer gets `lock.busy`), so the agent adds no locking of its own.
 *
 * Start-up: the keys of `trust` are trusted on the root first (provision.ts, `agent: trusted …`).
 * Readiness (docs/cli.md#marker-lines): once every listener is up, `agent: listening <address>`
 * for each (a port 0 shows the port chosen), then — when the root's policy mode is strict — the
 * guest's `bundlemgrd: ready` and `policy: packages enforce on`, then `pkgr: ready`, always last.
 *
 * Limits: at most `maxConnections` at once (one more is refused with REFUSE `agent.busy`; while
 * `maxConnections` refusals still linger, one more is closed without a word), a
 * handshake within `handshakeTimeoutMs`, an idle connection closed after `idleTimeoutMs`.
 * `shutdown()` drains: no new connection, idle ones closed, calls in flight finish (or roll back
 * when `cancelCalls()` is called too), then the uploads the agent kept are removed.
 */
import { errorValue, type Reporter } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { createPkgr, loadSecretKey, type PkgrOptions } from "../pkgr/mod.ts";
import { loadTrust, readFileOr, rootPaths } from "../store/mod.ts";
import { decodePublicKey, type KeyPair } from "../trust/mod.ts";
import {
  type ByteStream,
  HANDSHAKE_TIMEOUT_MS,
  REFUSE_LINGER_MS,
  refuseConnection,
} from "../transport/mod.ts";
import { Connection } from "./connection.ts";
import { ContentStore } from "./content_store.ts";
import { listen, type Listener } from "./listeners.ts";
import { type ProvisionKeys, provisionKeys } from "./provision.ts";
import { UploadArea } from "./uploads.ts";

export interface AgentLimits {
  maxConnections: number;
  handshakeTimeoutMs: number;
  idleTimeoutMs: number;
  /** The pause before a serial line at EOF is opened again. */
  serialReopenMs: number;
  /** How long a refusal (`agent.busy`) waits for its peer to read the REFUSE and close. */
  refuseLingerMs: number;
}

export const DEFAULT_LIMITS: AgentLimits = {
  maxConnections: 64,
  handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
  idleTimeoutMs: 5 * 60_000,
  serialReopenMs: 1_000,
  refuseLingerMs: REFUSE_LINGER_MS,
};

export interface AgentOptions {
  /** The state root directory the agent serves. */
  root: string;
  /** `--listen` values: `tcp:HOST:PORT`, `serial:PATH` (at least one). */
  listen: string[];
  /** Host keys allowed to connect (at least one). */
  authorizedKeys: Uint8Array[];
  /** The agent's own key, which hosts pin in known_agents. */
  hostKey?: KeyPair;
  /** Serve trust and policy changes (METHODS[m].admin) too. */
  allowAdmin?: boolean;
  limits?: Partial<AgentLimits>;
  /** The agent's stderr: readiness and call markers, warnings about failed connections. */
  reporter: Reporter;
  /** Test-only fault triggers (NX_FAULT) for every call's transaction, as a local CLI's. */
  faults?: PkgrOptions["faults"];
  /** Keys to trust on the root before listening (`--trust`, `--trust-store`). */
  trust?: ProvisionKeys;
}

export interface Agent {
  /** Each listener's address, as `agent: listening` shows it. */
  addresses: string[];
  /** Resolves once shutdown() has drained every connection. */
  closed: Promise<void>;
  /** Stops accepting, lets calls in flight finish, closes everything; idempotent. */
  shutdown(): Promise<void>;
  /** Cancels the calls in flight (their transactions roll back). */
  cancelCalls(): void;
}

function usage(message: string): NxError {
  return new NxError("usage.invalid_argument", message);
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  if (o.listen.length === 0) throw usage("cannot start the agent: no --listen address");
  if (o.authorizedKeys.length === 0) {
    throw usage("cannot start the agent: no authorized host key");
  }
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const paths = rootPaths(o.root);
  const pkgr = createPkgr({ root: paths, faults: o.faults });
  if (o.trust) await provisionKeys(pkgr, o.trust, o.reporter);
  const { policy } = await loadTrust(paths); // also refuses a root of an unknown layout
  const uploads = new UploadArea(paths, new ContentStore({ paths }));
  await uploads.removeLeftovers();
  const log = o.reporter;
  const warn = (e: unknown) => {
    const { code, message } = errorValue(e);
    log.emit({ kind: "warning", code, message });
  };
  const listeners: Listener[] = [];
  try {
    for (const text of o.listen) {
      listeners.push(await listen(text, { onError: warn, reopenDelayMs: limits.serialReopenMs }));
    }
  } catch (e) {
    for (const l of listeners) l.close();
    throw e;
  }

  const options = {
    authorized: o.authorizedKeys,
    hostKey: o.hostKey,
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    idleTimeoutMs: limits.idleTimeoutMs,
    pkgr,
    allowAdmin: o.allowAdmin === true,
    uploads,
    log,
  };
  const active = new Set<Connection>();
  /** Every connection's run and every refusal, so shutdown can wait for all of them. */
  const tasks = new Set<Promise<void>>();
  /** The refusals still lingering (each holds its socket up to refuseLingerMs × 2). */
  let refusing = 0;
  let stopping = false;
  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };
  const serve = (stream: ByteStream) => {
    if (stopping) return stream.close();
    if (active.size >= limits.maxConnections) {
      // As many refusals linger at most as connections are served; past that a connection is
      // closed at once, so a flood holds at most twice maxConnections sockets, not one per SYN.
      if (refusing >= limits.maxConnections) return stream.close();
      const busy = new NxError(
        "agent.busy",
        `cannot accept the connection: the agent serves ${limits.maxConnections} already`,
        { hint: "try again later", details: { maxConnections: limits.maxConnections } },
      );
      refusing++;
      const refusal = refuseConnection(stream, busy, limits.refuseLingerMs).catch(() => {});
      return track(refusal.finally(() => refusing--));
    }
    const connection = new Connection(stream, options);
    active.add(connection);
    track(connection.run().finally(() => active.delete(connection)));
  };
  const accepting = listeners.map(async (listener) => {
    try {
      for await (const stream of listener.streams()) serve(stream);
    } catch (e) {
      if (!stopping) warn(e);
    }
  });

  for (const l of listeners) log.emit({ kind: "marker", text: `agent: listening ${l.address}` });
  if (policy.mode === "strict") {
    log.emit({ kind: "marker", text: "bundlemgrd: ready" });
    log.emit({ kind: "marker", text: "policy: packages enforce on" });
  }
  log.emit({ kind: "marker", text: "pkgr: ready" });

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  let shut: Promise<void> | undefined;
  const shutdown = () =>
    shut ??= (async () => {
      stopping = true;
      for (const l of listeners) l.close();
      for (const c of active) c.drain();
      await Promise.all(accepting);
      while (tasks.size > 0) await Promise.all([...tasks]);
      await uploads.close();
      resolveClosed();
    })();
  return {
    addresses: listeners.map((l) => l.address),
    closed,
    shutdown,
    cancelCalls: () => {
      for (const c of active) c.cancelCall();
    },
  };
}

const PUBLIC_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/**
 * The host keys of an `--authorized-keys` file: one or more Ed25519 public keys as PEM blocks
 * (what `nx pkg keygen` writes to NAME.pub, concatenated), blank and `#` comment lines between
 * them. Anything else in the file is `key.invalid`; a file without a key is a usage error.
 */
export async function loadAuthorizedKeys(path: string): Promise<Uint8Array[]> {
  const bytes = await readFileOr(path, undefined, 1024 * 1024);
  if (bytes === undefined) {
    throw new NxError("key.not_found", `cannot read authorized keys: ${path} does not exist`);
  }
  const text = new TextDecoder().decode(bytes);
  const keys = (text.match(PUBLIC_BLOCK) ?? []).map((block, i) => {
    try {
      return decodePublicKey(block);
    } catch (e) {
      if (!(e instanceof NxError)) throw e;
      throw new NxError(e.code, `${e.message} (key ${i + 1} of ${path})`, { hint: e.hint });
    }
  });
  const rest = text.replace(PUBLIC_BLOCK, "").split("\n").map((l) => l.trim());
  const stray = rest.findIndex((l) => l !== "" && !l.startsWith("#"));
  if (stray >= 0) {
    const secret = text.includes("PRIVATE KEY");
    throw new NxError(
      "key.invalid",
      `cannot read authorized keys ${path}: it holds ${
        secret ? "a secret key" : "text that is neither a public key nor a comment"
      }`,
      {
        hint: "list the hosts' public keys (NAME.pub of `nx pkg keygen`), never a secret key",
      },
    );
  }
  if (keys.length === 0) {
    throw usage(`cannot use --authorized-keys ${path}: it holds no public key`);
  }
  return keys;
}

/** The agent's own key (`--host-key`): a secret key file as `nx pkg keygen` writes it. */
export function loadHostKey(path: string): Promise<KeyPair> {
  return loadSecretKey(path);
}
