/** Human rendering of a clean `doctor` run (findings fail the command and render as an error). */
import { escapeText } from "./escape.ts";

/** The parts of a DoctorReport a clean run shows. */
export interface CleanReport {
  apps: number;
  files: number;
  recovered?: string;
  repaired: readonly { kind: string; path: string; action?: string }[];
}

export function renderDoctor(report: CleanReport): string {
  return [
    `ok: ${report.apps} app(s), ${report.files} file(s) checked, no findings`,
    ...(report.recovered ? [`recovered: ${report.recovered}`] : []),
    ...report.repaired.map((f) =>
      `repaired ${f.kind}: ${f.path}${f.action ? `: ${f.action}` : ""}`
    ),
  ].map(escapeText).join("\n");
}
