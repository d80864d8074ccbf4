/**
 * `deno task bench [--runs N] [--warmup N] [--quick] [--suite NAME]... [--out FILE]`: runs the
 * benchmark suites, prints a table on stdout and writes one JSON document to
 * bench/out/bench.json (gitignored) or FILE. docs/performance.md describes every row.
 *
 * Every number is nx against a floor or peer measured in the same run on the same files; medians
 * of N ≥ 5 runs after warmup. Missed targets are printed as MISS but do not fail the run; a
 * suite that cannot measure (nx or a floor exits non-zero) does (exit 1). `--quick` takes one
 * sample per side on smaller data: it proves the bench works end to end, its numbers mean
 * nothing (tests/bench_smoke_test.ts).
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { NX_VERSION } from "../../core/version/nx_version.ts";
import { REPO } from "../helpers.ts";
import { BIG, smallerBig } from "./_nx.ts";
import {
  gnuTimeAvailable,
  type Metric,
  missText,
  type Outcome,
  type Plan,
  renderTable,
  type Report,
  REPORT_FORMAT,
  REPORT_VERSION,
  type Suite,
  writeReport,
} from "./_measure.ts";
import { agentSuite } from "./agent_suite.ts";
import { breakdownSuite } from "./breakdown_suite.ts";
import { doctorSuite } from "./doctor_suite.ts";
import { fsyncSuite } from "./fsync_suite.ts";
import { installSuite } from "./install_suite.ts";
import { licensedSuite } from "./licensed_suite.ts";
import { listSuite } from "./list_suite.ts";
import { memorySuite } from "./memory_suite.ts";
import { packSuite } from "./pack_suite.ts";
import { qemuSuite } from "./qemu_suite.ts";
import { rollbackSuite } from "./rollback_suite.ts";
import { startupSuite } from "./startup_suite.ts";
import { verifySuite } from "./verify_suite.ts";

/** Later issues add a suite file and list it here. */
export const SUITES: Suite[] = [
  startupSuite,
  verifySuite,
  packSuite,
  memorySuite,
  breakdownSuite,
  installSuite,
  rollbackSuite,
  listSuite,
  licensedSuite,
  doctorSuite,
  fsyncSuite,
  agentSuite,
  qemuSuite,
];

export const REPORT_PATH = join(REPO, "bench", "out", "bench.json");

function usage(message: string): never {
  console.error(`cannot run the bench: ${message}`);
  console.error(
    `usage: deno task bench [--runs N≥5] [--warmup N≥1] [--quick] [--suite ${
      SUITES.map((s) => s.name).join("|")
    }]... [--out FILE]`,
  );
  Deno.exit(2);
}

interface Options {
  plan: Plan;
  quick: boolean;
  suites: Suite[];
  out: string;
}

function parse(argv: string[]): Options {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: "string" },
        warmup: { type: "string" },
        quick: { type: "boolean", default: false },
        suite: { type: "string", multiple: true },
        out: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usage((e as Error).message);
  }
  const quick = values.quick;
  if (quick && (values.runs !== undefined || values.warmup !== undefined)) {
    usage("--quick takes one sample per side: it cannot be combined with --runs or --warmup");
  }
  const runs = quick ? 1 : Number(values.runs ?? "7");
  const warmup = quick ? 0 : Number(values.warmup ?? "1");
  if (!quick && (!Number.isInteger(runs) || runs < 5)) usage(`--runs must be an integer ≥ 5`);
  if (!quick && (!Number.isInteger(warmup) || warmup < 1)) {
    usage(`--warmup must be an integer ≥ 1`);
  }
  const names = values.suite ?? SUITES.map((s) => s.name);
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length > 0) usage(`unknown suite ${unknown.join(", ")}`);
  return {
    plan: { runs, warmup },
    quick,
    suites: SUITES.filter((s) => names.includes(s.name)),
    out: values.out ?? REPORT_PATH,
  };
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
  const { plan, quick, suites, out } = parse(argv);
  const startedAt = new Date().toISOString();
  const loadavgAtStart = Deno.loadavg();
  const scratch = await Deno.makeTempDir({ prefix: "nx-bench-" });
  const outcomes: Outcome[] = [];
  const errors: Report["errors"] = [];
  const suiteSeconds: Record<string, number> = {};
  try {
    if (quick) console.error("bench: --quick: packing a smaller big-1.0.0 (1 MiB payload)");
    const big = quick ? await smallerBig(scratch) : BIG;
    for (const suite of suites) {
      console.error(`bench: ${suite.name}: ${suite.summary}`);
      const suiteStart = performance.now();
      const dir = join(scratch, suite.name);
      await Deno.mkdir(dir);
      try {
        const log = (l: string) => console.error(`bench: ${l}`);
        outcomes.push(...await suite.run({ plan, quick, big, scratch: dir, shared: scratch, log }));
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        console.error(`bench: ${suite.name}: ${message}`);
        errors.push({ suite: suite.name, message });
      }
      suiteSeconds[suite.name] = Math.round((performance.now() - suiteStart) / 100) / 10;
      console.error(`bench: ${suite.name}: done in ${suiteSeconds[suite.name]} s`);
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
      quick,
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
      suiteSeconds,
    },
    metrics: outcomes,
    errors,
  };
  await writeReport(out, report);

  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
  console.log(
    `nx bench: medians of ${plan.runs} runs after ${plan.warmup} warmup (${navigator.hardwareConcurrency} CPUs, deno ${Deno.version.deno})` +
      (quick ? " — QUICK MODE: one sample per side, smaller data; the numbers mean nothing" : ""),
  );
  console.log(
    `load average (1, 5, 15 min): ${load(loadavgAtStart)} at start, ${
      load(report.run.loadavgAtEnd as number[])
    } at end`,
  );
  console.log("");
  console.log(renderTable(outcomes));
  const missed = outcomes.filter((o): o is Metric => o.status === "MISS");
  const targeted = outcomes.filter((o) => o.target);
  const unmeasured = targeted.filter((o) => o.status === "skipped");
  console.log("");
  console.log(
    `targets: ${targeted.length - missed.length - unmeasured.length} PASS, ${missed.length} ` +
      `MISS, ${unmeasured.length} not measured`,
  );
  for (const m of missed) console.log(`MISS: ${missText(m)}`);
  if (missed.length > 0) console.log("(informational: missed targets do not fail the bench)");
  for (const e of errors) console.log(`ERROR in suite ${e.suite}: ${e.message.split("\n")[0]}`);
  console.log(`json: ${out}`);
  return errors.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
