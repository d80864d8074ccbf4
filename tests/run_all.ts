/**
 * The test command: runs every Deno test (unit tests beside the code and tests/), then prints the
 * plain `N passed, N failed` line CI reads. Counts come from Deno's JUnit report.
 */
import { join } from "node:path";
import { REPO } from "./helpers.ts";
import { junitCases, printSlowestFiles } from "./junit.ts";

// Every temp dir the tests make lands under one TMPDIR, removed when the run ends.
const scratch = await Deno.makeTempDir({ prefix: "nx-tests-" });
const junit = join(scratch, "report.xml");
const args = [
  "test",
  // Tests inspect /proc (killed children) and spawn the CLI with its own narrower permissions.
  "--allow-all",
  `--junit-path=${junit}`,
  // Test files run side by side (most of their time is spent waiting on the CLI subprocesses
  // they start); DENO_JOBS overrides how many at once.
  "--parallel",
  ...Deno.args,
];
const status = await new Deno.Command(Deno.execPath(), {
  args,
  cwd: REPO,
  env: { TMPDIR: scratch, DENO_JOBS: Deno.env.get("DENO_JOBS") ?? "3" },
  stdout: "inherit",
  stderr: "inherit",
})
  .spawn().status;

let passed = 0;
let failed = 0;
try {
  const cases = junitCases(await Deno.readTextFile(junit));
  // Deno reports each test and each t.step as a <testcase>; both count.
  failed = cases.filter((c) => c.outcome === "failed").length;
  passed = cases.filter((c) => c.outcome === "passed").length;
  printSlowestFiles(cases);
} catch {
  // No report: the run crashed before any test; count it as one failure.
  failed = Math.max(failed, 1);
}
if (!status.success && failed === 0) failed = 1;
await Deno.remove(scratch, { recursive: true }).catch(() => {});
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.success && failed === 0 ? 0 : 1);
