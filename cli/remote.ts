/**
 * Where a root command runs: on a local root (the default, `--transport local`) or, through
 * `nx agent`, on a remote one. `--transport` (repeatable; `NX_TRANSPORT` when absent) and
 * `--targets FILE` name the agents; more than one is a fleet (cli/fleet.ts). `--identity` (else
 * `NX_IDENTITY`, else the default file) is the Ed25519 key the host authenticates with.
 *
 * Only option definitions and the choice are here; the transport itself (core/transport) loads
 * when a remote command runs, so a local command never pays for it.
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import type { CallContext, Pkgr } from "../core/api/mod.ts";
import { collect, type CommonOptions, positiveInt, runVerb, type VerbContext } from "./common.ts";
import type { CommandResult } from "./render/envelope.ts";

export interface RemoteOptions {
  transport?: string[];
  targets?: string;
  identity?: string;
  parallel?: string;
  timeout?: string;
  root?: string;
  registryUrl?: string;
}

/** The transport options every root command takes. */
export function withTransport<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .addOption(
      new Option(
        "--transport <target>",
        "where to run: local, tcp:HOST:PORT or serial:PATH (an nx agent; repeat for a fleet; " +
          "also NX_TRANSPORT)",
      ).argParser(collect),
    )
    .option("--targets <file>", "run on every agent listed in FILE (one target per line)")
    .option(
      "--identity <file>",
      "Ed25519 secret key to authenticate to agents (default: $NX_IDENTITY, else " +
        "$XDG_CONFIG_HOME/nx/identity.key, else ~/.config/nx/identity.key)",
    )
    .option("--parallel <n>", "agents of a fleet worked on at once (default: 4)")
    .option("--timeout <seconds>", "give up on an agent's call after this long (default: none)");
}

/** The raw target texts a command line names ([] or ["local"]: the local root). */
export function targetTexts(opts: RemoteOptions, env: (name: string) => string | undefined) {
  const named = opts.transport ?? [];
  if (named.length > 0 || opts.targets !== undefined) return named;
  const fromEnv = env("NX_TRANSPORT");
  return fromEnv === undefined || fromEnv === "" ? [] : [fromEnv];
}

/** The command runs on the local root: no target named (or only `local`), and no --targets. */
export function runsLocally(opts: RemoteOptions, env: (name: string) => string | undefined) {
  if (opts.targets !== undefined) return false;
  const texts = targetTexts(opts, env);
  return texts.length === 0 || texts.every((t) => t === "local");
}

/** The agents to run on, parsed and checked (a usage error before anything connects). */
export async function remoteTargets(opts: RemoteOptions) {
  const { parseTarget, parseTargetsFile } = await import("../core/transport/mod.ts");
  const texts = targetTexts(opts, (n) => Deno.env.get(n));
  const targets = texts.map((text) => parseTarget(text));
  if (opts.targets !== undefined) {
    const text = await Deno.readTextFile(opts.targets).catch((e) => {
      throw new NxError("transport.invalid_target", `cannot read --targets ${opts.targets}: ${e}`);
    });
    targets.push(...parseTargetsFile(text));
  }
  if (targets.some((t) => t.kind === "local") && targets.length > 1) {
    throw new NxError(
      "transport.invalid_target",
      "cannot run on local and on agents at once",
      { hint: "run the local command on its own, or start an agent on that root" },
    );
  }
  for (const [option, given] of [["--root", opts.root], ["--registry-url", opts.registryUrl]]) {
    if (given !== undefined) {
      throw new NxError(
        "usage.invalid_argument",
        `cannot use ${option} with --transport: the agent acts on its own root`,
        { hint: `drop ${option}; the agent was started with --root` },
      );
    }
  }
  return {
    targets,
    parallel: positiveInt(opts.parallel, "--parallel") ?? 4,
    timeoutMs: (positiveInt(opts.timeout, "--timeout") ?? 0) * 1000 || undefined,
  };
}

/** One method call on a remote root; the caller renders its result. */
export type RemoteCall = (
  pkgr: Pkgr,
  call: CallContext,
  ctx?: VerbContext,
) => Promise<CommandResult>;

/**
 * Runs a root command on the agent(s) the options name. One target prints exactly what the
 * local command prints; Ctrl-C cancels the call on the agent (its transaction is undone) and a
 * second Ctrl-C stops waiting for that.
 */
export async function runRemote(opts: CommonOptions & RemoteOptions, call: RemoteCall) {
  let fleet: Awaited<ReturnType<typeof remoteTargets>>;
  try {
    fleet = await remoteTargets(opts);
  } catch (e) {
    return runVerb(opts, () => Promise.reject(e));
  }
  if (fleet.targets.length > 1) {
    const { runOnFleet } = await import("./fleet.ts");
    const now = new Date();
    return runOnFleet(opts, fleet, (pkgr, reporter) => call(pkgr, { now, reporter }));
  }
  const [target] = fleet.targets;
  return runVerb(opts, async (ctx) => {
    const { formatTarget } = await import("../core/transport/mod.ts");
    const { hostSide, openRemote } = await import("./connect.ts");
    ctx.out.verbose(`agent ${formatTarget(target)}`);
    await using remote = await openRemote(target, await hostSide(opts), fleet.timeoutMs);
    const cancel = new AbortController();
    const interrupted = () => {
      if (cancel.signal.aborted) Deno.exit(130);
      ctx.out.record("warning", "cancelling on the agent; press Ctrl-C again to stop waiting");
      cancel.abort();
    };
    Deno.addSignalListener("SIGINT", interrupted);
    try {
      const signal = cancel.signal;
      return await call(remote.pkgr, { now: ctx.now, reporter: ctx.reporter, signal }, ctx);
    } finally {
      Deno.removeSignalListener("SIGINT", interrupted);
    }
  });
}
