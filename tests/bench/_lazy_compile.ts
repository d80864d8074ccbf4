/**
 * What V8 compiles while a command runs, though Deno's code cache is warm: one more run of the
 * bundle with V8's function-event log (`--log-function-events`), after a first run with the same
 * flags (the cache is keyed to them), counting the functions of build/ that V8 parses and compiles
 * when they are first called. Deno writes a module's code cache when it compiles the module,
 * before it runs, so the cache holds only what V8 compiled eagerly; every other function is
 * compiled again in every process (docs/performance.md, "Why the code cache does not hold the
 * first run's compiling"). The runs use a `DENO_DIR` of their own: code cached under other V8
 * flags is not the code the bench's other runs use.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { bundleFlags } from "../helpers.ts";
import { runProcess } from "./_measure.ts";
import { denoRun } from "./_nx.ts";

const BUNDLE = new URL("../../build/", import.meta.url).href;

/** The events V8 logs while it compiles a function that was not compiled before. */
const COMPILE_EVENTS = new Set([
  "parse-function",
  "preparse-resolution",
  "full-parse",
  "interpreter",
  "baseline",
]);

export interface LazyCompiles {
  /** Functions of build/ compiled on their first call. */
  functions: number;
  /** The time V8 logged for compiling them (the logging itself slows it). */
  loggedMs: number;
  /** build/ scripts whose code came from the code cache. */
  fromCache: number;
  /** build/ scripts the run loaded. */
  scripts: number;
}

/** Reads a V8 function-event log: the compile work done for scripts under `prefix`. */
export function parseFunctionEvents(log: string, prefix: string = BUNDLE): LazyCompiles {
  const ours = new Set<string>();
  const compiled = new Set<string>();
  const cached = new Set<string>();
  let loggedMs = 0;
  for (const line of log.split("\n")) {
    const fields = line.split(",");
    if (fields[0] === "script-details" && fields[2]?.startsWith(prefix)) ours.add(fields[1]);
    if (fields[0] !== "function" || !ours.has(fields[2])) continue;
    const [, event, script, start] = fields;
    if (event === "deserialize") cached.add(script);
    if (!COMPILE_EVENTS.has(event)) continue;
    loggedMs += Number(fields[5]);
    if (event === "parse-function") compiled.add(`${script}:${start}`);
  }
  if (ours.size === 0) {
    throw new Error(`cannot read the function-event log: no script of ${prefix}`);
  }
  return { functions: compiled.size, loggedMs, fromCache: cached.size, scripts: ours.size };
}

/**
 * Runs `deno run build/main.js <args>` twice with the function-event log on, in a fresh
 * `DENO_DIR` below `scratch`, and reads the second log. `argsFor` gives each run its command line
 * (a verb that writes needs a fresh root each).
 */
export async function lazyCompiles(
  argsFor: () => Promise<string[]>,
  scratch: string,
): Promise<LazyCompiles> {
  const denoDir = await Deno.makeTempDir({ dir: scratch, prefix: "deno-dir-v8-log-" });
  const log = join(denoDir, "v8-function-events.log");
  const flags = bundleFlags([
    "--log-function-events",
    `--logfile=${log}`,
    "--no-logfile-per-isolate",
  ]);
  const main = fileURLToPath(new URL("main.js", BUNDLE));
  for (let run = 0; run < 2; run++) {
    const cmd = denoRun(main, await argsFor(), flags);
    await runProcess({ ...cmd, env: { ...cmd.env, DENO_DIR: denoDir } });
  }
  const counts = parseFunctionEvents(await Deno.readTextFile(log));
  await Deno.remove(denoDir, { recursive: true });
  return counts;
}

/** The start-up split's note on it. */
export function lazyCompilesText(c: LazyCompiles): string {
  const cached = c.fromCache === c.scripts
    ? `all ${c.scripts} of its scripts`
    : `${c.fromCache} of its ${c.scripts} scripts`;
  return `in V8's function-event log of one more run, ${c.functions} functions of build/ were ` +
    `compiled on their first call (${c.loggedMs.toFixed(1)} ms as logged; the logging slows ` +
    `it), though the code of ${cached} came from the code cache`;
}
