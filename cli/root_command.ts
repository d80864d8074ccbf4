/**
 * A root command is one method of the contract (core/api METHODS), described in one place:
 * `{method, toRequest, render}`. `toRequest` turns the command line into the method's request
 * (reading whatever host file the request carries as content, e.g. a key's text); `render` turns
 * the method's result — a plain value — into the envelope's message and data and the human text.
 * Nothing else reaches the output, so a result that crossed a wire renders exactly as a local one.
 *
 * Only types of the contract are imported here: start-up stays free of schemas; the service is
 * loaded when the command runs (cli/service.ts).
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { CallContext, Method, Pkgr, RequestOf, ResultOf } from "../core/api/mod.ts";
import { type CommonOptions, runVerb, type VerbContext } from "./common.ts";
import {
  type RemoteCall,
  type RemoteOptions,
  runRemote,
  runsLocally,
  withTransport,
} from "./remote.ts";
import type { CommandResult } from "./render/envelope.ts";

export interface RootCommand<M extends Method, I extends unknown[]> {
  method: M;
  /** The request for this command line (`input`: the command's arguments, then its options). */
  toRequest(...input: I): RequestOf<M> | Promise<RequestOf<M>>;
  /** The output of a result (the same command line at hand, for how it is shown). */
  render(result: ResultOf<M>, ...input: I): CommandResult;
  /**
   * Shows what a failure carries beyond its error line (doctor's problems, on stdout), before the
   * error is rendered as usual.
   */
  failed?(e: unknown, ctx: VerbContext, ...input: I): void;
}

// deno-lint-ignore no-explicit-any
type AnyRootCommand = RootCommand<Method, any[]>;
const SPEC_OF = new WeakMap<object, AnyRootCommand>();

/** The root command a command of the tree runs (undefined: the command touches no root). */
export function rootCommandOf(cmd: object): AnyRootCommand | undefined {
  return SPEC_OF.get(cmd);
}

/** The commands that take `--registry-url` open a session on the root (and honour NX_FAULT). */
function opensSession(cmd: { options: readonly { long?: string }[] }): boolean {
  return cmd.options.some((o) => o.long === "--registry-url");
}

/**
 * Makes `cmd` run `spec`: its action builds the request, calls the method — on the local root,
 * or through `--transport` on an agent's (cli/remote.ts), or on a fleet (cli/fleet.ts) — and
 * renders the result. The same render runs on every path, so remote output is local output.
 */
export function rootCommand<
  A extends unknown[],
  O extends OptionValues & CommonOptions,
  M extends Method,
>(
  cmd: Command<A, O>,
  spec: RootCommand<M, [...A, O]>,
): Command<A, O> {
  SPEC_OF.set(cmd, spec as unknown as AnyRootCommand);
  withTransport(cmd as unknown as Command);
  return cmd.action((...args) => {
    const input = args.slice(0, -1) as [...A, O];
    const opts = input.at(-1) as O & RemoteOptions;
    const session = opensSession(cmd);
    /** One call of the method on `pkgr`, rendered; a failure shows what it carries first. */
    const callOn = async (pkgr: Pkgr, call: CallContext, ctx?: VerbContext) => {
      const request = await spec.toRequest(...input);
      const method = pkgr[spec.method] as (r: RequestOf<M>, c: CallContext) => Promise<ResultOf<M>>;
      try {
        return spec.render(await method(request, call), ...input);
      } catch (e) {
        if (ctx) spec.failed?.(e, ctx, ...input);
        throw e;
      }
    };
    return runOnRoot(opts, session, callOn);
  });
}

/**
 * Runs `call` with the Pkgr of the command line's root: the local one, an agent's
 * (`--transport`), or each agent's of a fleet. `session`: the command opens a session on a local
 * root (it takes `--registry-url` and honours NX_FAULT).
 */
export function runOnRoot(opts: CommonOptions & RemoteOptions, session: boolean, call: RemoteCall) {
  if (runsLocally(opts, (n) => Deno.env.get(n))) {
    return runVerb(opts, async (ctx) => {
      const { pkgrFor } = await import("./service.ts");
      const pkgr = await pkgrFor(ctx.paths, opts, session);
      return await call(pkgr, { now: ctx.now, reporter: ctx.reporter }, ctx);
    }, { session });
  }
  return runRemote(opts, call);
}
