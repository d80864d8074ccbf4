/**
 * Plain-text layout helpers for human output (reads well without colour). Every key, value and
 * cell goes through {@link escapeText}, so an untrusted string stays on its own row.
 */
import { escapeText } from "./escape.ts";

export { escapeLines, escapeText } from "./escape.ts";

/** Aligned `key: value` lines; empty values are skipped. */
export function keyValues(rows: [string, string | number | undefined][]): string {
  const shown = rows
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => [escapeText(k), escapeText(String(v))]);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join("\n");
}

/** A table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((r) => r.map(escapeText));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (row: string[]) =>
    row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd();
  return cells.map(line).join("\n");
}

/** Values joined for one cell (the cell is escaped where it is laid out). */
export function list(values: readonly string[]): string {
  return values.length === 0 ? "-" : values.join(", ");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The one wording of an empty result: `no <what>` ("no apps installed", "no history entries"). */
export function none(what: string): string {
  return `no ${what}`;
}
