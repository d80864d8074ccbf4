/** Options every verb takes, and the one runner that turns a verb's result or error into output. */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { Reporter } from "../core/api/mod.ts";
import { resolveRootDir, type RootPaths, rootPaths } from "../core/store/paths.ts";
import { Output } from "./output.ts";
import { type CommandResult, renderError, renderSuccess } from "./render/envelope.ts";

export function withCommon<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .option("--json", "print exactly one JSON envelope on stdout")
    .option(
      "--root <dir>",
      "state root (default: $NX_ROOT, else $XDG_STATE_HOME/nx/root, else ~/.local/state/nx/root)",
    )
    .option("--markers", "print marker lines on stderr (also NX_MARKERS=1)");
}

export interface CommonOptions {
  json?: true;
  root?: string;
  markers?: true;
}

/** One command's run: where output goes, the root it names, and its reference time. */
export interface VerbContext {
  out: Output;
  paths: RootPaths;
  reporter: Reporter;
  /** Reference time, fixed once for the whole command. */
  now: Date;
}

export function makeContext(opts: CommonOptions): VerbContext {
  const out = Output.detect(opts.json === true, opts.markers === true);
  const paths = rootPaths(resolveRootDir(opts.root, (n) => Deno.env.get(n)));
  return { out, paths, reporter: out, now: new Date() };
}

/** Runs a verb; sets the exit code from the result or the error's exit class. */
export async function runVerb(
  opts: CommonOptions,
  verb: (ctx: VerbContext) => Promise<CommandResult>,
): Promise<void> {
  const ctx = makeContext(opts);
  try {
    Deno.exitCode = renderSuccess(ctx.out, await verb(ctx));
  } catch (e) {
    Deno.exitCode = renderError(ctx.out, e);
  }
}
