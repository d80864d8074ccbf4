/**
 * Human rendering of `doctor`: a clean run (what `--repair` did, then the counts), and the
 * problems of a failed one grouped by app, each with its kind, version, path, what is wrong and
 * the next step. Paths are shown relative to the root (the error line names the root); the
 * commands of the next steps carry the full paths.
 */
import { relative } from "node:path";
import type { AppSummary, DoctorReport, Finding } from "../../core/api/mod.ts";
import { escapeText } from "./escape.ts";

/** The parts of a DoctorReport a clean run shows. */
export type CleanReport = Pick<DoctorReport, "apps" | "files" | "recovered" | "repaired">;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function repairedLines(repaired: CleanReport["repaired"]): string[] {
  if (repaired.length === 0) return [];
  return [
    `repaired ${plural(repaired.length, "problem")}:`,
    ...repaired.map((f) => `  ${f.action ?? `${f.kind} ${f.path}`}`),
  ];
}

export function renderDoctor(report: CleanReport): string {
  return [
    ...(report.recovered ? [`recovered: ${report.recovered}`] : []),
    ...repairedLines(report.repaired),
    `ok: ${plural(report.apps, "app")}, ${plural(report.files, "file")} checked, no problems`,
  ].map(escapeText).join("\n");
}

/** A root-relative path for the listing (`.` for the root itself). */
function shown(root: string, path: string): string {
  const rel = relative(root, path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

function findingLines(root: string, f: Finding): string[] {
  const head = [f.kind, ...(f.version !== undefined ? [f.version] : [])].join(" ");
  return [
    `  ${head}: ${shown(root, f.path)}`,
    `    ${f.message}${f.code ? ` [${f.code}]` : ""}`,
    ...(f.refused ? [`    --repair could not: ${f.refused}`] : []),
    ...(f.hint ? [`    next: ${f.hint}`] : []),
  ];
}

/**
 * The problems of a failed run, by app (apps sorted, then what lies outside any app), preceded
 * by what `--repair` fixed. The summary and the overall next step are the error's message and
 * hint, rendered after this.
 */
export function renderProblems(root: string, report: DoctorReport): string {
  const byApp = new Map<string, Finding[]>();
  for (const f of report.findings) {
    const key = f.app ?? "";
    byApp.set(key, [...(byApp.get(key) ?? []), f]);
  }
  const groups = [...byApp.keys()].sort((a, b) => (a === "" ? 1 : b === "" ? -1 : a < b ? -1 : 1));
  const lines = [
    ...(report.recovered ? [`recovered: ${report.recovered}`] : []),
    ...repairedLines(report.repaired),
    ...(report.repaired.length > 0 ? ["left to fix:"] : []),
  ];
  for (const key of groups) {
    const found = byApp.get(key)!;
    const what = plural(found.length, "problem");
    lines.push(key === "" ? `outside the apps: ${what}` : `${key}: ${what}`);
    for (const f of found) lines.push(...findingLines(root, f));
  }
  return lines.map(escapeText).join("\n");
}

/** The line `list` adds under its table when an app is `broken`. */
export function brokenHint(apps: readonly AppSummary[]): string {
  const broken = apps.filter((a) => a.state === "broken");
  if (broken.length === 0) return "";
  const list = broken.map((a) => `${a.id}: ${a.problem ?? "current link broken"}`).join("; ");
  return `\n${escapeText(`broken: ${list}; run \`nx pkg doctor\` for the next step`)}`;
}
