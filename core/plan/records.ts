/** Registry records derived from a verified bundle, and permission diffs between versions. */
import type { VerifiedBundle } from "../trust/mod.ts";
import type { ManifestView } from "../bundle/mod.ts";
import type { AppRecord, PermissionDiff, VersionRecord } from "../api/mod.ts";
import type { PostStep } from "./types.ts";

/** The launcher's icon cache follows the active version (post-commit hook). */
export function iconPost(m: ManifestView, version: string): PostStep[] {
  const icon = m.resources.find((r) => r.kind === "icon");
  return icon ? [{ kind: "warm-icon-cache", version, icon: icon.path }] : [];
}

export function versionRecord(bundle: VerifiedBundle, now: string): VersionRecord {
  return {
    version: bundle.manifest.version,
    size: bundle.totalSize,
    files: bundle.files,
    manifest: bundle.manifest,
    scheme: bundle.scheme,
    installedAt: now,
  };
}

const exportsOf = (m: ManifestView) => m.exports.map((e) => `${e.ability}=${e.permission}`);
const minus = (a: string[], b: string[]) => a.filter((x) => !b.includes(x)).sort();

export function permissionDiff(from: ManifestView | undefined, to: ManifestView): PermissionDiff {
  const oldCaps = from?.capabilities ?? [];
  const oldExports = from ? exportsOf(from) : [];
  return {
    from: from?.version ?? null,
    to: to.version,
    added: minus(to.capabilities, oldCaps),
    removed: minus(oldCaps, to.capabilities),
    exportsAdded: minus(exportsOf(to), oldExports),
    exportsRemoved: minus(oldExports, exportsOf(to)),
  };
}

/** The record after activating `active` (moved to the front), keeping `1 + retain` versions. */
export function activate(
  base: Omit<AppRecord, "versions" | "version" | "lastDiff" | "updatedAt">,
  active: VersionRecord,
  previous: VersionRecord[],
  retain: number,
  diff: PermissionDiff,
  now: string,
): { record: AppRecord; dropped: string[] } {
  const ordered = [active, ...previous.filter((v) => v.version !== active.version)];
  return {
    record: {
      ...base,
      version: active.version,
      versions: ordered.slice(0, 1 + retain),
      lastDiff: diff,
      updatedAt: now,
    },
    dropped: ordered.slice(1 + retain).map((v) => v.version),
  };
}
