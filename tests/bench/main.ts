/**
 * `deno task bench [--runs N] [--warmup N] [--suite NAME]...`: runs the benchmark suites, prints
 * a table on stdout and writes one JSON document to bench/out/bench.json (gitignored).
 *
 * Every number is nx against a floor or peer measured in the same run on the same files; medians
 * of N ≥ 5 runs after warmup. Missed targets are printed as MISSED but do not fail the run; a
 * suite that cannot measure (nx or a floor exits non-zero) does (exit 1).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NX_VERSION } from "../../core/version/nx_version.ts";
import { REPO } from "../helpers.ts";
import {
  gnuTimeAvailable,
  type Outcome,
  type Plan,
  renderTable,
  type Report,
  REPORT_FORMAT,
  REPORT_VERSION,
  type Suite,
  writeReport,
} from "./_measure.ts";
import { breakdownSuite } from "./breakdown_suite.ts";
import { fsyncSuite } from "./fsync_suite.ts";
import { installSuite } from "./install_suite.ts";
import { listSuite } from "./list_suite.ts";
import { memorySuite } from "./memory_suite.ts";
import { packSuite } from "./pack_suite.ts";
import { rollbackSuite } from "./rollback_suite.ts";
import { verifySuite } from "./verify_suite.ts";

/** Later issues add a suite file and list it here. */
export const SUITES: Suite[] = [
  verifySuite,
  packSuite,
  memorySuite,
  breakdownSuite,
  installSuite,
  rollbackSuite,
  listSuite,
  fsyncSuite,
];

export const REPORT_PATH = join(REPO, "bench", "out", "bench.json");

function usage(message: string): never {
  console.error(`cannot run the bench: ${message}`);
  console.error(
    `usage: deno task bench [--runs N≥5] [--warmup N≥1] [--suite ${
      SUITES.map((s) => s.name).join("|")
    }]...`,
  );
  Deno.exit(2);
}

function parse(argv: string[]): { plan: Plan; suites: Suite[] } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: "string", default: "7" },
        warmup: { type: "string", default: "1" },
        suite: { type: "string", multiple: true },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  if (!Number.isInteger(runs) || runs < 5) usage(`--runs must be an integer ≥ 5`);
  if (!Number.isInteger(warmup) || warmup < 1) usage(`--warmup must be an integer ≥ 1`);
  const names = values.suite ?? SUITES.map((s) => s.name);
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) usage(`unknown suite ${unknown.join(", ")}`);
  return { plan: { runs, warmup }, suites: SUITES.filter((s) => names.includes(s.name)) };
}

async function gitRevision(): Promise<string | undefined> {
  try {
    const run = (args: string[]) =>
      new Deno.Command("git", { args, cwd: REPO, stdout: "piped", stderr: "null" }).output();
    const head = await run(["rev-parse", "HEAD"]);
    const status = await run(["status", "--porcelain"]);
    if (!head.success) return undefined;
    const dirty = new TextDecoder().decode(status.stdout).trim() !== "";
    return new TextDecoder().decode(head.stdout).trim() + (dirty ? "+dirty" : "");
  } catch {
    return undefined;
  }
}

export async function main(argv: string[]): Promise<number> {
  const { plan, suites } = parse(argv);
  const startedAt = new Date().toISOString();
  const loadavgAtStart = Deno.loadavg();
  const scratch = await Deno.makeTempDir({ prefix: "nx-bench-" });
  const outcomes: Outcome[] = [];
  const errors: Report["errors"] = [];
  try {
    for (const suite of suites) {
      console.error(`bench: ${suite.name}: ${suite.summary}`);
      const dir = join(scratch, suite.name);
      await Deno.mkdir(dir);
      try {
        outcomes.push(
          ...await suite.run({ plan, scratch: dir, log: (l) => console.error(`bench: ${l}`) }),
        );
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        console.error(`bench: ${suite.name}: ${message}`);
        errors.push({ suite: suite.name, message });
      }
    }
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }

  const report: Report = {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    run: {
      startedAt,
      runs: plan.runs,
      warmup: plan.warmup,
      statistic: "median",
      nx: NX_VERSION,
      revision: await gitRevision(),
      deno: Deno.version,
      os: Deno.build.os,
      arch: Deno.build.arch,
      cpus: navigator.hardwareConcurrency,
      // Other work on the machine shows up here; ratios are interleaved to resist it.
      loadavgAtStart,
      loadavgAtEnd: Deno.loadavg(),
      gnuTime: await gnuTimeAvailable(),
    },
    metrics: outcomes,
    errors,
  };
  await writeReport(REPORT_PATH, report);

  console.log(
    `nx bench: medians of ${plan.runs} runs after ${plan.warmup} warmup (${navigator.hardwareConcurrency} CPUs, deno ${Deno.version.deno})`,
  );
  console.log("");
  console.log(renderTable(outcomes));
  const missed = outcomes.filter((o) => o.status === "MISSED");
  console.log("");
  if (missed.length > 0) {
    console.log(`MISSED ${missed.length} target(s): ${missed.map((m) => m.name).join("; ")}`);
    console.log("(informational: missed targets do not fail the bench)");
  } else {
    console.log("all targets met");
  }
  for (const e of errors) console.log(`ERROR in suite ${e.suite}: ${e.message.split("\n")[0]}`);
  console.log(`json: ${REPORT_PATH}`);
  return errors.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
