/** Human rendering of a verified (or inspected) bundle, and of a packed one. */
import type { InspectReport, VerifiedBundle } from "../../core/api/mod.ts";
import type { PackResult } from "../../core/protocol/mod.ts";
import { escapeText } from "./escape.ts";
import { bytes, keyValues, list, table } from "./text.ts";

export function renderBundle(path: string, b: VerifiedBundle): string {
  const m = b.manifest;
  const lines = [
    keyValues([
      ["bundle", path],
      ["name", m.name],
      ["version", m.version],
      ["type", m.bundleType],
      ["payload", `${m.payloadKind}, ${bytes(m.payloadSize)}, sha256 ${m.payloadDigest || "-"}`],
      ["min sdk", m.minSdk],
      ["publisher", m.publisher],
      ["signed by", b.signer.key ? `key ${b.signer.key} (${b.scheme})` : `- (${b.scheme})`],
      ["trusted", b.signer.trusted ? "yes" : "no"],
      ["sku", m.sku],
      ["abilities", list(m.abilities)],
      ["capabilities", list(m.capabilities)],
      ["provides", list(m.providedServices)],
      ["dependencies", list(m.dependencies.map((d) => `${d.name} ${d.versionConstraint}`))],
      ["exports", list(m.exports.map((e) => `${e.ability} → ${e.permission}`))],
      ["resources", list(m.resources.map((r) => `${r.kind}:${r.path}`))],
      ["migrations", list(b.migrations.map((s) => `${s.from} → ${s.to}`))],
      ["files", `${b.files.length} (${bytes(b.totalSize)})`],
    ]),
  ];
  return lines.join("\n");
}

/** One line per file: digest, size, path (below a `files:` row; `inspect` and `info --files`). */
export function renderFiles(files: readonly { path: string; size: number; sha256: string }[]) {
  return files
    .map((f) => `  ${f.sha256}  ${String(f.size).padStart(9)}  ${escapeText(f.path)}`)
    .join("\n");
}

/**
 * `inspect`: the verdict line, the bundle as far as it could be read (or, when not even that,
 * the name and version its manifest claims), then — with `--files` — each file below the
 * `files:` row.
 */
export function renderInspect(path: string, report: InspectReport, files: boolean): string {
  const head = report.verified
    ? "verification: ok"
    : escapeText(`verification: failed [${report.code}] ${report.message}`);
  const body = report.bundle ? renderBundle(path, report.bundle) : keyValues([
    ["bundle", path],
    ["name", report.claimed && `${report.claimed.name} (claimed, unverified)`],
    ["version", report.claimed && `${report.claimed.version} (claimed, unverified)`],
  ]);
  const listing = files && report.bundle ? `\n${renderFiles(report.bundle.files)}` : "";
  return [head, body].filter((s) => s).join("\n") + listing;
}

/** `pack`: what was built where, then its files. */
export function renderPacked(r: PackResult): string {
  const head = escapeText(
    `built ${r.name}@${r.version} → ${r.out} (${r.scheme}, publisher ${r.publisher})`,
  );
  return `${head}\n${table(["bytes", "file"], r.files.map((f) => [String(f.size), f.path]))}`;
}
