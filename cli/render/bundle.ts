/** Human rendering of a verified (or inspected) bundle. */
import type { VerifiedBundle } from "../../core/trust/mod.ts";
import { bytes, keyValues, list } from "./text.ts";

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

export function renderFiles(b: VerifiedBundle): string {
  return b.files.map((f) => `  ${f.sha256}  ${String(f.size).padStart(9)}  ${f.path}`).join("\n");
}
