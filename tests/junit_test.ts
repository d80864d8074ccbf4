/** tests/junit.ts: outcomes and per-file seconds from a Deno JUnit report. */
import assert from "node:assert/strict";
import { fileSeconds, junitCases } from "./junit.ts";

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="5" failures="1" errors="0" time="4.000">
  <testsuite name="./a_test.ts" tests="4" disabled="0" errors="0" failures="1">
    <testcase name="x &gt; y" classname="./a_test.ts" time="1.500" line="1" col="6">
    </testcase>
    <testcase name="x &gt; y &gt; z" classname="./a_test.ts" time="0.500" line="1" col="6">
      <failure message="boom">boom</failure>
    </testcase>
    <testcase name="x &gt; y &gt; w" classname="./a_test.ts" time="0.250" line="1" col="6"/>
    <testcase name="ignored" classname="./a_test.ts" time="0.000" line="9" col="6">
      <skipped/>
    </testcase>
  </testsuite>
  <testsuite name="./b_test.ts" tests="1" disabled="0" errors="0" failures="0">
    <testcase name="q" classname="./b_test.ts" time="2.250" line="1" col="6">
    </testcase>
  </testsuite>
</testsuites>`;

Deno.test("junitCases() reads names, files, times and outcomes", () => {
  const cases = junitCases(XML);
  assert.deepEqual(cases.map((c) => c.outcome), [
    "passed",
    "failed",
    "passed",
    "skipped",
    "passed",
  ]);
  assert.equal(cases[1].name, "x > y > z");
  assert.equal(cases[4].seconds, 2.25);
});

Deno.test("fileSeconds() sums top-level tests only, slowest first", () => {
  // "x > y" is a top-level test whose name holds " > " (no test "x"); its steps are inside it.
  assert.deepEqual(fileSeconds(junitCases(XML)), [["./b_test.ts", 2.25], ["./a_test.ts", 1.5]]);
});
