/**
 * The start-up split of a verb (the verify, pack and install suites): the whole process, the same
 * command run by _preloaded.ts (every module of build/ loaded before its clock starts), and the
 * warm in-process call, so a row can say how much of the whole is Deno's start-up and loading
 * nx's modules, and how much is what a first run pays while it runs.
 */
import { fileURLToPath } from "node:url";
import { bundleFlags } from "../helpers.ts";
import { type LazyCompiles, lazyCompilesText } from "./_lazy_compile.ts";
import { type Cmd, median, type Metric, metric, type ProcessRun } from "./_measure.ts";
import { denoRun } from "./_nx.ts";

const PRELOADED = fileURLToPath(new URL("_preloaded.ts", import.meta.url));

/** `main(args)` of the bundle in a fresh process whose every module was loaded first. */
export function preloadedCmd(args: string[]): Cmd {
  return denoRun(PRELOADED, args, bundleFlags());
}

/** The time a `_preloaded.ts` run reported on stderr. */
export function preloadedMs(run: ProcessRun): number {
  const lines = run.stderr.trimEnd().split("\n");
  const match = /^preloaded-ms (\d+(?:\.\d+)?)$/.exec(lines.at(-1) ?? "");
  if (!match) throw new Error(`cannot measure the preloaded run: no timing line\n${run.stderr}`);
  return Number(match[1]);
}

/** What every first run pays while it runs, whatever the verb. */
const FIRST_RUN = "code compiled on first call, the first libc calls, a young heap";

export interface StartUpSplit {
  suite: string;
  /** What ran, as the row's label names it: `pkg install big-1.0.0.nxb --root <…> --json`. */
  command: string;
  /** The whole process (bin/nx), the preloaded run, the warm in-process call: samples each. */
  whole: number[];
  preloaded: number[];
  warm: number[];
  /** What a first run's own calls add (the note's parenthesis), when more than {@link FIRST_RUN}. */
  firstRun?: string;
  /** V8's function-event log of one more run (_lazy_compile.ts): the first run's compiling. */
  lazy: LazyCompiles;
  floorLabel: string;
  floor: number[];
}

/**
 * The start-up split row: whole − preloaded is Deno's start-up, the node layer, bin/nx and loading
 * nx's modules; preloaded − warm is what a first run pays while it runs.
 */
export function startUpSplit(split: StartUpSplit): Metric {
  const cold = median(split.preloaded);
  const ms = (v: number) => `${v.toFixed(1)} ms`;
  const verb = split.command.split(" ").slice(0, 2).join(" ");
  return metric({
    suite: split.suite,
    name: `${verb.replace("pkg ", "")} start-up split: main() with every module loaded (cold)`,
    unit: "ms",
    nxLabel:
      `tests/bench/_preloaded.ts: every module of build/ imported, then main(${split.command}) ` +
      "timed in that fresh process",
    inProcess: split.preloaded,
    floorLabel: split.floorLabel,
    floor: split.floor,
    notes: [
      `the whole process minus this: ${ms(median(split.whole) - cold)} of Deno start-up, ` +
      "the node layer, bin/nx and loading nx's modules",
      `this minus the warm in-process ${verb.replace("pkg ", "")}: ${
        ms(cold - median(split.warm))
      } ` +
      `that a first run pays while it runs (${split.firstRun ?? FIRST_RUN}); ` +
      lazyCompilesText(split.lazy),
    ],
  });
}
