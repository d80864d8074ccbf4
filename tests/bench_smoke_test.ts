/**
 * `deno task bench --quick` end to end: every suite runs through the real CLI (bin/nx) and its
 * floors, and reports what the full bench reports. Times are never asserted (quick mode takes one
 * sample per side on smaller data); the shape is: exit 0, no suite error, a measured ratio or a
 * stated reason for every row, each issue target present, PASS/MISS agreeing with the ratio, and
 * every target row printed with its ratio, target and verdict.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Metric, Outcome, Report } from "./bench/_measure.ts";
import { SUITES } from "./bench/main.ts";
import { DENO, REPO } from "./helpers.ts";

/** The targets of issues 8 and 9, by suite and a fragment of the row's name. */
const ISSUE_TARGETS: { suite: string; name: string; max: number }[] = [
  { suite: "install", name: "vs the native floor", max: 3 },
  { suite: "install", name: "vs dpkg -i", max: 1 },
  { suite: "verify", name: "verify big-1.0.0.nxb", max: 2 },
  { suite: "list", name: "apps vs nx --version", max: 1.5 },
  { suite: "startup", name: "nx --version vs deno run of an empty file", max: 2 },
  { suite: "pack", name: "pack big-1.0.0", max: 2.5 },
  { suite: "doctor", name: "vs sha256sum over their files", max: 3 },
  { suite: "memory", name: "peak RSS", max: 8 },
  {
    suite: "agent",
    name: "through nx agent (loopback TCP) vs the same install locally",
    max: 1.25,
  },
  // throughput ≥ 0.7 of raw, held as a time ratio: ≤ 1 / 0.7
  { suite: "agent", name: "(protocol, offer → stored) vs a raw TCP sink", max: 1.43 },
  { suite: "agent", name: "bytes sent for an upgrade changing one", max: 2 },
  { suite: "agent", name: "fleet: install big", max: 3 },
  { suite: "licensed", name: "vs the same bundle without a sku", max: 1.05 },
];

function isMetric(o: Outcome): o is Metric {
  return o.status !== "skipped";
}

Deno.test("deno task bench --quick runs every suite and reports every target", async () => {
  const dir = await Deno.makeTempDir({ prefix: "nx-bench-smoke-" });
  try {
    const out = join(dir, "bench.json");
    const run = await new Deno.Command(DENO, {
      args: [
        "run",
        "--allow-all",
        join(REPO, "tests", "bench", "main.ts"),
        "--quick",
        "--out",
        out,
      ],
      cwd: REPO,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(run.stdout);
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, `bench --quick failed:\n${stdout}\n${stderr.slice(-4000)}`);

    const report = JSON.parse(await Deno.readTextFile(out)) as Report;
    assert.equal(report.format, "nx-bench");
    assert.equal(report.version, 2);
    assert.equal(report.run.quick, true);
    assert.deepEqual(report.errors, []);
    assert.equal((report.run.loadavgAtStart as number[]).length, 3);

    for (const suite of SUITES) {
      const rows = report.metrics.filter((o) => o.suite === suite.name);
      assert.ok(rows.length > 0, `suite ${suite.name} reported no row`);
    }
    for (const o of report.metrics) {
      if (!isMetric(o)) {
        assert.ok(o.reason.length > 0, `${o.name}: skipped without a reason`);
        continue;
      }
      assert.ok(o.floor.median > 0 || o.unit === "calls", `${o.name}: floor median is 0`);
      assert.ok(Number.isFinite(o.ratio), `${o.name}: ratio ${o.ratio}`);
      if (!o.target) {
        assert.equal(o.status, "info", o.name);
        continue;
      }
      const value = o.target.kind === "max_ratio" ? o.ratio : o.delta;
      assert.equal(o.status, value <= o.target.max ? "PASS" : "MISS", o.name);
      // The table prints the row with its ratio, its target and the verdict on one line.
      const line = stdout.split("\n").find((l) => l.includes(o.name) && /PASS|MISS/.test(l));
      assert.ok(line, `no table line for ${o.name}`);
      assert.ok(line.includes(`${o.ratio.toFixed(2)}×`), `${o.name}: ratio missing in\n${line}`);
      assert.ok(line.includes(`${o.target.max}`), `${o.name}: target missing in\n${line}`);
      assert.ok(line.includes(o.status), `${o.name}: verdict missing in\n${line}`);
    }
    for (const t of ISSUE_TARGETS) {
      const row = report.metrics.find((o) => o.suite === t.suite && o.name.includes(t.name));
      assert.ok(row, `no row for the ${t.suite} target "${t.name}"`);
      assert.equal(row.target?.max, t.max, `${row.name}: target`);
    }
    assert.match(stdout, /^load average \(1, 5, 15 min\): /m);
    assert.match(stdout, /^targets: \d+ PASS, \d+ MISS, \d+ not measured$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
