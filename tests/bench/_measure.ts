/**
 * Measurement helpers for `deno task bench`: whole-process timing, interleaved sampling, medians,
 * peak RSS through GNU time, and the two outputs (a human table and one JSON document).
 *
 * Every metric compares nx against a floor or peer measured in the same run on the same files;
 * nothing here holds a wall-clock limit.
 */
import { dirname } from "node:path";

/** A process to spawn: program, arguments, and optionally a working directory and extra env. */
export interface Cmd {
  cmd: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** How many samples: `warmup` discarded iterations, then `runs` kept ones. */
export interface Plan {
  runs: number;
  warmup: number;
}

export interface Stats {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("cannot take the median: no samples");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function stats(samples: readonly number[]): Stats {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples: [...samples],
  };
}

export interface ProcessRun {
  ms: number;
  stdout: string;
  stderr: string;
}

/**
 * Spawns `c`, waits for it and returns the elapsed time from spawn to exit (stdout and stderr
 * are piped and drained on both sides of every comparison). A non-zero exit is an error.
 */
export async function runProcess(c: Cmd): Promise<ProcessRun> {
  const command = new Deno.Command(c.cmd, {
    args: c.args,
    cwd: c.cwd,
    env: c.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const start = performance.now();
  const out = await command.output();
  const ms = performance.now() - start;
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(
      `cannot measure \`${describe(c)}\`: exit ${out.code}\n${stderr.trim()}\n${stdout.trim()}`
        .trimEnd(),
    );
  }
  return { ms, stdout, stderr };
}

/** Times an in-process operation (sync or async). */
export async function timed(op: () => unknown): Promise<number> {
  const start = performance.now();
  await op();
  return performance.now() - start;
}

/** True when `name` can be spawned (found on PATH and executable). */
export async function canRun(name: string, args: string[] = ["--version"]): Promise<boolean> {
  try {
    const out = await new Deno.Command(name, { args, stdout: "null", stderr: "null" }).output();
    return out.success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
      return false;
    }
    throw e;
  }
}

export function describe(c: Cmd): string {
  const shown = c.args.length > 8 ? [...c.args.slice(0, 8), `… (${c.args.length} args)`] : c.args;
  return [c.cmd, ...shown].join(" ");
}

/** A sampled side: one iteration's measurement (ms or MiB); may do untimed setup around it. */
export type Side = () => Promise<number>;

/**
 * Runs every side `plan.warmup + plan.runs` times, interleaved: iteration i starts with side
 * i mod k, so start-order effects and slow drift (page cache, writeback, CPU clock) hit all sides
 * alike. Warmup iterations are discarded.
 */
export async function sample<K extends string>(
  plan: Plan,
  sides: Record<K, Side>,
  progress?: (done: number, total: number) => void,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(sides) as K[];
  const out = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  const total = plan.warmup + plan.runs;
  for (let i = 0; i < total; i++) {
    const order = [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length)];
    for (const key of order) {
      const value = await sides[key]();
      if (i >= plan.warmup) out[key].push(value);
    }
    progress?.(i + 1, total);
  }
  return out;
}

/**
 * True the first time it is asked about `key`, false after: a side checks its result on its
 * first sample (the warmup, or the only sample with --quick), untimed, instead of a separate run.
 */
export function firstCalls(): (key: string) => boolean {
  const seen = new Set<string>();
  return (key) => {
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

export const GNU_TIME = "/usr/bin/time";

/** True when GNU time (apt package `time`) is installed; it reports the child's peak RSS. */
export async function gnuTimeAvailable(): Promise<boolean> {
  try {
    const out = await new Deno.Command(GNU_TIME, { args: ["--version"], stdout: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return out.success && text.includes("GNU");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Peak resident set size of `c` in MiB, from GNU time's `%M` (the child's ru_maxrss, in KiB),
 * written to a scratch file so the measured process's own stderr is untouched.
 */
export async function peakRssMiB(c: Cmd, scratchFile: string): Promise<number> {
  await runProcess({
    cmd: GNU_TIME,
    args: ["-f", "%M", "-o", scratchFile, c.cmd, ...c.args],
    cwd: c.cwd,
    env: c.env,
  });
  const lines = (await Deno.readTextFile(scratchFile)).trim().split("\n");
  const kib = Number(lines[lines.length - 1]);
  if (!Number.isFinite(kib) || kib <= 0) {
    throw new Error(`cannot read peak RSS from ${GNU_TIME}: ${lines.join(" | ")}`);
  }
  return kib / 1024;
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** "calls" counts syscalls (fsync suite); medians of counts are printed without decimals. */
export type Unit = "ms" | "MiB" | "calls";
export type Measured = "whole-process" | "in-process";

/** Targets apply to the whole-process numbers: the time and memory a user sees. */
export type Target =
  | { kind: "max_ratio"; max: number; appliesTo: Measured }
  | { kind: "max_delta"; max: number; appliesTo: Measured };

export interface Metric {
  suite: string;
  name: string;
  unit: Unit;
  /** What the nx side ran (whole process when present). */
  nxLabel: string;
  wholeProcess?: Stats;
  inProcess?: Stats;
  floorLabel: string;
  floor: Stats;
  /** nx median ÷ floor median, for the whole process when measured, else in-process. */
  ratio: number;
  ratioOf: Measured;
  /** In-process median ÷ floor median, when both an in-process and whole-process run exist. */
  inProcessRatio?: number;
  /** nx median − floor median, in `unit`. */
  delta: number;
  target: Target | null;
  /** PASS or MISS against the target; info when the row has none. */
  status: "PASS" | "MISS" | "info";
  /**
   * The least any Deno program pays for the same work (deno_floor.ts), measured in the same run
   * against the same floor: when its ratio alone is over the target, no nx on Deno meets it.
   */
  bound?: Bound;
  notes: string[];
}

export interface Bound {
  label: string;
  median: number;
  /** Its median ÷ the floor's median. */
  ratio: number;
  /** Whether the bound itself is within the target (if not, the target is out of reach). */
  withinTarget: boolean;
}

/** A row that could not be measured here (a tool is missing); printed as "not measured". */
export interface Skipped {
  suite: string;
  name: string;
  status: "skipped";
  reason: string;
  /** The target the row would have been held to, so a missing tool does not hide a target. */
  target?: Target;
  unit?: Unit;
}

export type Outcome = Metric | Skipped;

export interface MetricInput {
  suite: string;
  name: string;
  unit: Unit;
  nxLabel: string;
  wholeProcess?: number[];
  inProcess?: number[];
  floorLabel: string;
  floor: number[];
  target?: Target;
  bound?: { label: string; samples: number[] };
  notes?: string[];
}

/** Medians, ratio, delta and the PASS/MISS verdict for one comparison. */
export function metric(input: MetricInput): Metric {
  const whole = input.wholeProcess ? stats(input.wholeProcess) : undefined;
  const inProc = input.inProcess ? stats(input.inProcess) : undefined;
  const primary = whole ?? inProc;
  if (!primary) throw new Error(`cannot build metric ${input.name}: no nx samples`);
  const floor = stats(input.floor);
  const ratio = primary.median / floor.median;
  const delta = primary.median - floor.median;
  const ratioOf: Measured = whole ? "whole-process" : "in-process";
  const target = input.target ?? null;
  if (target && target.appliesTo !== ratioOf) {
    throw new Error(`cannot build metric ${input.name}: target needs ${target.appliesTo} samples`);
  }
  let status: Metric["status"] = "info";
  if (target?.kind === "max_ratio") status = ratio <= target.max ? "PASS" : "MISS";
  if (target?.kind === "max_delta") status = delta <= target.max ? "PASS" : "MISS";
  let bound: Bound | undefined;
  if (input.bound) {
    const median = stats(input.bound.samples).median;
    const within = target?.kind === "max_ratio"
      ? median / floor.median <= target.max
      : target?.kind === "max_delta"
      ? median - floor.median <= target.max
      : true;
    bound = {
      label: input.bound.label,
      median,
      ratio: median / floor.median,
      withinTarget: within,
    };
  }
  return {
    suite: input.suite,
    name: input.name,
    unit: input.unit,
    nxLabel: input.nxLabel,
    wholeProcess: whole,
    inProcess: inProc,
    floorLabel: input.floorLabel,
    floor,
    ratio,
    ratioOf,
    inProcessRatio: whole && inProc ? inProc.median / floor.median : undefined,
    delta,
    target,
    status,
    ...(bound ? { bound } : {}),
    notes: input.notes ?? [],
  };
}

/** What the summary says of a missed target: its name, and why when the Deno floor is over it. */
export function missText(m: Metric): string {
  if (!m.bound || m.bound.withinTarget) return m.name;
  return `${m.name} (out of reach on Deno: the Deno floor alone is ${m.bound.ratio.toFixed(2)}×)`;
}

export function skipped(
  suite: string,
  name: string,
  reason: string,
  target?: { target: Target; unit: Unit },
): Skipped {
  return { suite, name, status: "skipped", reason, ...target };
}

// ---------------------------------------------------------------------------------------------
// Suites

/** The big app the suites measure: a bundle and the source it was packed from. */
export interface BigApp {
  bundle: string;
  src: string;
}

export interface SuiteContext {
  plan: Plan;
  /**
   * fixtures' big-1.0.0 (246 files, 16 MiB); with --quick a smaller repack of it (same layout,
   * 1 MiB payload, 16 assets) made once per run. The memory suite always uses the fixture.
   */
  big: BigApp;
  /**
   * `--quick`: one sample per side, no warmup, smaller data sets where a suite has a size knob.
   * It proves the bench runs end to end (tests/bench_smoke_test.ts); its numbers mean nothing.
   */
  quick: boolean;
  /** A scratch directory for this suite, removed after the run. */
  scratch: string;
  /** The run's scratch directory, for what several suites share (the floor binary, a root). */
  shared: string;
  /** Progress on stderr. */
  log(line: string): void;
}

/** One file per suite (verify_suite.ts, pack_suite.ts, …); main.ts runs the list. */
export interface Suite {
  name: string;
  summary: string;
  run(ctx: SuiteContext): Promise<Outcome[]>;
}

// ---------------------------------------------------------------------------------------------
// Output

function num(value: number, unit: Unit): string {
  return `${value.toFixed(unit === "calls" ? 0 : 1)} ${unit}`;
}

function targetText(t: Target | null, unit: Unit): string {
  if (!t) return "none (info)";
  return t.kind === "max_ratio" ? `≤ ${t.max}×` : `Δ ≤ ${t.max} ${unit}`;
}

function resultText(m: Metric): string {
  if (m.target?.kind === "max_delta") {
    const shown = m.delta.toFixed(1).replace(/^-(0\.0)$/, "$1");
    return `${m.status} (Δ ${shown.startsWith("-") ? "" : "+"}${shown} ${m.unit})`;
  }
  return m.status;
}

/** The human table: one row per metric, then a legend naming what each side ran. */
export function renderTable(outcomes: readonly Outcome[]): string {
  const header = [
    "#",
    "suite",
    "metric",
    "nx whole-process",
    "nx in-process (ratio)",
    "floor/peer",
    "ratio",
    "target",
    "result",
  ];
  const rows: string[][] = [];
  const legend: string[] = [];
  outcomes.forEach((o, i) => {
    const id = String(i + 1);
    if (o.status === "skipped") {
      const target = o.target ? targetText(o.target, o.unit ?? "ms") : "—";
      rows.push([id, o.suite, o.name, "—", "—", "—", "—", target, "not measured"]);
      legend.push(`[${id}] not measured: ${o.reason}`);
      return;
    }
    const inProc = o.inProcess
      ? num(o.inProcess.median, o.unit) +
        (o.inProcessRatio !== undefined ? ` (${o.inProcessRatio.toFixed(2)}×)` : "")
      : "—";
    rows.push([
      id,
      o.suite,
      o.name,
      o.wholeProcess ? num(o.wholeProcess.median, o.unit) : "—",
      inProc,
      num(o.floor.median, o.unit),
      `${o.ratio.toFixed(2)}×`,
      targetText(o.target, o.unit),
      resultText(o),
    ]);
    legend.push(`[${id}] nx: ${o.nxLabel}`);
    legend.push(`${" ".repeat(id.length + 2)} floor/peer: ${o.floorLabel}`);
    if (o.target) {
      legend.push(`${" ".repeat(id.length + 2)} target applies to the ${o.target.appliesTo} run`);
    }
    if (o.bound) {
      legend.push(
        `${" ".repeat(id.length + 2)} Deno floor: ${o.bound.label}: ${
          num(o.bound.median, o.unit)
        }, ${o.bound.ratio.toFixed(2)}× the floor/peer` +
          (o.bound.withinTarget ? "" : " — over the target by itself"),
      );
    }
    for (const note of o.notes) legend.push(`${" ".repeat(id.length + 2)} note: ${note}`);
  });
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c])).join("  ");
  return [
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    ...legend,
  ].join("\n").replace(/ +$/gm, "");
}

export const REPORT_FORMAT = "nx-bench";
/** 2: statuses PASS/MISS (were pass/MISSED), `quick` in run, skipped rows may carry a target. */
export const REPORT_VERSION = 2;

export interface Report {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  /** Describes this run; timings and the start time are not stable across runs by nature. */
  run: Record<string, unknown>;
  metrics: Outcome[];
  errors: { suite: string; message: string }[];
}

/** Writes the report as one JSON document (temp name, then rename). */
export async function writeReport(path: string, report: Report): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(report, null, 2) + "\n");
  await Deno.rename(tmp, path);
}
