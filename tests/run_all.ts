/**
 * The test command: runs every Deno test (unit tests beside the code and tests/), then prints the
 * plain `N passed, N failed` line CI reads. Counts come from Deno's JUnit reports.
 *
 * Two lanes run at once. The guest lane runs the files that boot QEMU guests one after another:
 * they take turns anyway (guestTurn() in tests/_qemu.ts: one TCG guest at a time), so together
 * they are the longest chain of the run, and started first it no longer ends the run alone on
 * one core. The other lane runs every other file, DENO_JOBS (default 2) at a time.
 * With arguments (files, --filter …) one `deno test` runs just those, DENO_JOBS (default 3) at once.
 *
 * The tests run the CLI they spawn from the prebuilt bundle, what bin/nx runs (built first when
 * older than the sources): from source each of the suite's thousands of CLI processes would
 * load and compile some 300 modules. NX_CLI=source runs them from source instead.
 */
import { join } from "node:path";
import { bundleIsFresh, REPO } from "./helpers.ts";
import { type JunitCase, junitCases, printSlowestFiles } from "./junit.ts";

/** The files that boot guests (the bench smoke test runs the qemu suite), in the lane's order. */
const GUEST_LANE = [
  "tests/qemu_powercut_test.ts",
  "tests/qemu_postflight_test.ts",
  "tests/qemu_test.ts",
  "tests/bench_smoke_test.ts",
];

interface Lane {
  name: string;
  args: string[];
  jobs: string;
  /** Each output line prefixed with `name | ` (a lane run in order prints half lines). */
  prefixed: boolean;
}

const cli = Deno.env.get("NX_CLI") ?? "bundle";
if (cli === "bundle" && !bundleIsFresh()) {
  const built = await new Deno.Command(Deno.execPath(), { args: ["task", "build"], cwd: REPO })
    .spawn().status;
  if (!built.success || !bundleIsFresh()) {
    console.log("0 passed, 1 failed");
    Deno.exit(1);
  }
}

// Every temp dir the tests make lands under one TMPDIR, removed when the run ends.
const scratch = await Deno.makeTempDir({ prefix: "nx-tests-" });
const jobs = Deno.env.get("DENO_JOBS");
// Test files run side by side: most of their time is spent waiting on the CLI subprocesses
// they start.
const lanes: Lane[] = Deno.args.length > 0
  ? [{ name: "all", args: ["--parallel", ...Deno.args], jobs: jobs ?? "3", prefixed: false }]
  : [
    { name: "guest", args: GUEST_LANE, jobs: "1", prefixed: true },
    {
      name: "other",
      args: ["--parallel", `--ignore=${GUEST_LANE.join(",")}`],
      jobs: jobs ?? "2",
      prefixed: false,
    },
  ];

async function run(lane: Lane): Promise<{ ok: boolean; cases: JunitCase[] | undefined }> {
  const junit = join(scratch, `${lane.name}.xml`);
  const child = new Deno.Command(Deno.execPath(), {
    // Tests inspect /proc (killed children) and spawn the CLI with its own narrower permissions.
    args: ["test", "--allow-all", `--junit-path=${junit}`, ...lane.args],
    cwd: REPO,
    env: { TMPDIR: scratch, DENO_JOBS: lane.jobs, NX_CLI: cli },
    stdout: lane.prefixed ? "piped" : "inherit",
    stderr: lane.prefixed ? "piped" : "inherit",
  }).spawn();
  if (lane.prefixed) {
    await Promise.all([
      printLines(child.stdout, `${lane.name} | `, Deno.stdout),
      printLines(child.stderr, `${lane.name} | `, Deno.stderr),
    ]);
  }
  const ok = (await child.status).success;
  // No report: the lane crashed before any test.
  const cases = await Deno.readTextFile(junit).then(junitCases, () => undefined);
  return { ok, cases };
}

/** Copies `stream` to `out` a whole line at a time, each line after `prefix`. */
async function printLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: { writeSync(b: Uint8Array): number },
): Promise<void> {
  const encoder = new TextEncoder();
  let held = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (held + text).split("\n");
    held = lines.pop()!;
    if (lines.length > 0) {
      writeAll(
        out,
        encoder.encode(lines.map((l) => prefix + l + "\n").join("")),
      );
    }
  }
  if (held !== "") writeAll(out, encoder.encode(prefix + held + "\n"));
}

function writeAll(out: { writeSync(b: Uint8Array): number }, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += out.writeSync(bytes.subarray(at));
}

const results = await Promise.all(lanes.map(run));
// Deno reports each test and each t.step as a <testcase>; both count.
const cases = results.flatMap((r) => r.cases ?? []);
let failed = cases.filter((c) => c.outcome === "failed").length;
const passed = cases.filter((c) => c.outcome === "passed").length;
printSlowestFiles(cases);
// A lane that failed without a failed test (a crash, no report) counts as one failure.
for (const r of results) if (!r.ok && !r.cases?.some((c) => c.outcome === "failed")) failed++;
await Deno.remove(scratch, { recursive: true }).catch(() => {});
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(results.every((r) => r.ok) && failed === 0 ? 0 : 1);
