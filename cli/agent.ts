/**
 * `nx agent`: serves this machine's state root to hosts that run root commands with
 * `--transport` (core/agent). It runs until SIGTERM or SIGINT: the first one drains (no new
 * connection, calls in flight finish, exit 0), a second one cancels the calls still running
 * (their transactions roll back) and then exits the same way.
 *
 * stderr is the agent's log: its marker lines always (`agent: listening …`, `pkgr: ready`, each
 * call's markers — the guest console's contract, docs/cli.md#marker-lines) and a warning for each
 * connection that failed. Only a failure to start is an error (its exit class, as any verb's).
 */
import { Command, Option } from "@commander-js/extra-typings";
import { resolveRootDir } from "../core/store/paths.ts";
import { collect, type GlobalOptions, positiveInt, withRoot } from "./common.ts";
import { Output } from "./output.ts";
import { renderError } from "./render/envelope.ts";

export interface AgentOptions extends GlobalOptions {
  root?: string;
  listen: string[];
  authorizedKeys: string;
  hostKey?: string;
  allowAdmin?: true;
  maxConnections?: string;
  handshakeTimeout?: string;
  idleTimeout?: string;
  trust: string[];
  trustStore: string[];
}

export function agentCommand() {
  return withRoot(
    new Command("agent")
      .description(
        "serve this machine's state root to nx hosts (`nx pkg … --transport`) over TCP or a serial line",
      )
      .addOption(
        new Option(
          "--listen <target>",
          "where to listen: tcp:HOST:PORT (port 0: any free one, printed) or serial:PATH " +
            "(a character device, or a unix socket to connect to); repeatable",
        ).argParser(collect).makeOptionMandatory(),
      )
      .requiredOption(
        "--authorized-keys <file>",
        "the hosts allowed to connect: their Ed25519 public keys (PEM, as `nx pkg keygen` " +
          "writes NAME.pub), one or more",
      )
      .option("--host-key <file>", "this agent's own secret key, which hosts pin in known_agents")
      .option("--allow-admin", "also serve trust and policy changes (trust add/remove, policy set)")
      .option("--max-connections <n>", "connections served at once; more are refused (default: 64)")
      .option("--handshake-timeout <ms>", "time a host has to authenticate (default: 10000)")
      .option("--idle-timeout <ms>", "close a connection idle this long (default: 300000)")
      .addOption(
        new Option(
          "--trust <pub>",
          "before listening, trust this publisher key on the root, as `nx pkg trust add` " +
            "(one already trusted stays as it is); repeatable",
        ).argParser(collect).default([] as string[]),
      )
      .addOption(
        new Option(
          "--trust-store <pub>",
          "before listening, trust this store key, as `nx licensed trust add`; repeatable",
        ).argParser(collect).default([] as string[]),
      ),
  ).action((opts) => runAgent(opts as AgentOptions));
}

export async function runAgent(opts: AgentOptions): Promise<void> {
  // Markers always: the agent's stderr is the guest console a harness watches.
  const out = Output.detect({ ...opts, markers: true });
  try {
    const limits = {
      maxConnections: positiveInt(opts.maxConnections, "--max-connections"),
      handshakeTimeoutMs: positiveInt(opts.handshakeTimeout, "--handshake-timeout"),
      idleTimeoutMs: positiveInt(opts.idleTimeout, "--idle-timeout"),
    };
    const { loadAuthorizedKeys, loadHostKey, startAgent } = await import("../core/agent/mod.ts");
    const { parseFaults } = await import("../core/apply/faults.ts");
    const { readPublicKeyText } = await import("../core/pkgr/keys.ts");
    const agent = await startAgent({
      root: resolveRootDir(opts.root, (n) => Deno.env.get(n)),
      listen: opts.listen,
      authorizedKeys: await loadAuthorizedKeys(opts.authorizedKeys),
      hostKey: opts.hostKey === undefined ? undefined : await loadHostKey(opts.hostKey),
      allowAdmin: opts.allowAdmin === true,
      limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
      reporter: out,
      faults: parseFaults(Deno.env.get("NX_FAULT")),
      trust: {
        publishers: await Promise.all(opts.trust.map(readPublicKeyText)),
        stores: await Promise.all(opts.trustStore.map(readPublicKeyText)),
      },
    });
    let signals = 0;
    const stop = () => {
      if (signals++ === 0) agent.shutdown();
      else agent.cancelCalls();
    };
    const names = ["SIGTERM", "SIGINT"] as const;
    for (const name of names) Deno.addSignalListener(name, stop);
    await agent.closed;
    for (const name of names) Deno.removeSignalListener(name, stop);
    // A serial line may still have a device read pending, which no close interrupts.
    Deno.exit(0);
  } catch (e) {
    Deno.exitCode = renderError(out, e);
  }
}
