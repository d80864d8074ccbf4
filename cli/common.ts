/**
 * Options every command takes, and the one runner that turns a verb's result or error into output.
 *
 * Global options (`--json`, `-q`, `-v`, `--color`) are defined once on `nx` and accepted anywhere
 * on the command line, before or after the verb (commander parses a program's options wherever
 * they stand); {@link addGlobalOptions} copies their values into the options of the command that
 * runs, and every help shows them under "Global Options". `--root` and `--markers` are per verb,
 * on the verbs that use them ({@link withRoot}, {@link withMarkers}).
 */
import { type Command, Option, type OptionValues } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import type { Reporter } from "../core/api/mod.ts";
import { resolveRootDir, type RootPaths, rootPaths } from "../core/store/paths.ts";
import { COLOR_WHEN, type ColorWhen, Output } from "./output.ts";
import { type CommandResult, renderError, renderSuccess } from "./render/envelope.ts";

export const ROOT_HELP =
  "state root (default: $NX_ROOT, else $XDG_STATE_HOME/nx/root, else ~/.local/state/nx/root)";

/** `--root <dir>` with the default every `pkg` verb shares (the demo says its own default). */
export function withRoot<A extends unknown[], O extends OptionValues>(
  cmd: Command<A, O>,
  description = ROOT_HELP,
) {
  return cmd.addOption(new Option("--root <dir>", description));
}

/** `--markers`, on the verbs that emit marker lines. */
export function withMarkers<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd.option("--markers", "print marker lines on stderr (also NX_MARKERS=1)");
}

/** `--root` and `--markers`: the options of a verb that works on a state root. */
export function withCommon<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return withMarkers(withRoot(cmd));
}

/** The options defined once on `nx` (see the module comment). */
export interface GlobalOptions {
  json?: true;
  quiet?: true;
  verbose?: true;
  color?: ColorWhen;
}

export interface CommonOptions extends GlobalOptions {
  root?: string;
  markers?: true;
}

const GLOBAL_KEYS = ["json", "quiet", "verbose", "color"] as const;

export function addGlobalOptions(program: Command): void {
  program
    .option("--json", "print exactly one JSON envelope on stdout")
    .addOption(
      new Option("-q, --quiet", "print nothing on stderr but errors and the markers asked for")
        .conflicts("verbose"),
    )
    .option("-v, --verbose", "also print the root, each step and its time on stderr")
    .addOption(
      new Option("--color <when>", "colour the error and warning labels on stderr")
        .choices(COLOR_WHEN).default("auto" as ColorWhen),
    );
  program.hook("preAction", (_program, action) => {
    const all = action.optsWithGlobals();
    for (const key of GLOBAL_KEYS) {
      if (all[key] !== undefined) action.setOptionValue(key, all[key]);
    }
  });
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
  const out = Output.detect(opts);
  const paths = rootPaths(resolveRootDir(opts.root, (n) => Deno.env.get(n)));
  return { out, paths, reporter: out, now: new Date() };
}

/** Where the root came from, for `--verbose`. */
function rootSource(opts: CommonOptions): string {
  if (opts.root !== undefined) return "--root";
  return Deno.env.get("NX_ROOT") ? "$NX_ROOT" : "the default";
}

/**
 * Runs a verb; sets the exit code from the result or the error's exit class. `rooted`: the verb
 * is a root command (rootCommand), whose root — and, when it opens a session, registry — the
 * `--verbose` header names.
 */
export async function runVerb(
  opts: CommonOptions,
  verb: (ctx: VerbContext) => Promise<CommandResult>,
  rooted?: { session: boolean },
): Promise<void> {
  const ctx = makeContext(opts);
  if (rooted) ctx.out.verbose(`root ${ctx.paths.root} (from ${rootSource(opts)})`);
  if (rooted?.session) {
    const url = (opts as { registryUrl?: string }).registryUrl;
    ctx.out.verbose(`registry ${url ?? `file:${ctx.paths.registryDb}`}`);
  }
  try {
    Deno.exitCode = renderSuccess(ctx.out, await verb(ctx));
  } catch (e) {
    Deno.exitCode = renderError(ctx.out, e);
  }
  ctx.out.verbose(`done, exit ${Deno.exitCode}`);
}

/** A repeatable option's values, in the order given (commander's argParser). */
export const collect = (value: string, previous: string[] | undefined) => [
  ...(previous ?? []),
  value,
];

/** A whole-number option ≥ 1 (undefined when not given); anything else is a usage error. */
export function positiveInt(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot use ${option} ${value}: not a whole number ≥ 1`,
    );
  }
  return n;
}
