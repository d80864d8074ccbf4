/**
 * Reading Deno's JUnit report (tests/run_all.ts): each test and each t.step is a <testcase>; a
 * step's name is its parent's, " > ", and its own.
 */

export interface JunitCase {
  name: string;
  file: string;
  seconds: number;
  outcome: "passed" | "failed" | "skipped";
}

const unescape = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");

export function junitCases(xml: string): JunitCase[] {
  const cases: JunitCase[] = [];
  for (const m of xml.matchAll(/<testcase\b([^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const attr = (key: string) =>
      unescape(m[1].match(new RegExp(`\\b${key}="([^"]*)"`))?.[1] ?? "");
    const body = m[3] ?? "";
    cases.push({
      name: attr("name"),
      file: attr("classname"),
      seconds: Number(attr("time")) || 0,
      outcome: /<failure\b|<error\b/.test(body)
        ? "failed"
        : /<skipped\b/.test(body)
        ? "skipped"
        : "passed",
    });
  }
  return cases;
}

/** Seconds per test file: the sum of its top-level tests (a step's time is inside its parent's). */
export function fileSeconds(cases: readonly JunitCase[]): [file: string, seconds: number][] {
  const names = new Set(cases.map((c) => `${c.file}\0${c.name}`));
  const isStep = (c: JunitCase) => {
    for (let i = c.name.indexOf(" > "); i > 0; i = c.name.indexOf(" > ", i + 1)) {
      if (names.has(`${c.file}\0${c.name.slice(0, i)}`)) return true;
    }
    return false;
  };
  const totals = new Map<string, number>();
  for (const c of cases) {
    if (!isStep(c)) totals.set(c.file, (totals.get(c.file) ?? 0) + c.seconds);
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/** The slowest test files, so a CI run that got long says where its time went. */
export function printSlowestFiles(cases: readonly JunitCase[], count = 8): void {
  const rows = fileSeconds(cases).slice(0, count);
  if (rows.length === 0) return;
  console.log("slowest test files (seconds, tests of a file run one after another):");
  for (const [file, seconds] of rows) console.log(`${seconds.toFixed(1).padStart(8)}  ${file}`);
}
