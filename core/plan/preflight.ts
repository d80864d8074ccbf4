/**
 * Preflight gates, pure: SDK, root role, id collision, kept data of another publisher,
 * dependencies, quota, free space.
 */
import { NxError } from "../errors.ts";
import { compareVersions, satisfies } from "../version/mod.ts";
import type { BundleType } from "../bundle/mod.ts";
import type { VerifiedBundle } from "../trust/mod.ts";
import type { Snapshot } from "./snapshot.ts";

/** Bundle types that only a `system` root may hold (the partial/user image policy). */
export const SYSTEM_TYPES: readonly BundleType[] = [
  "shell",
  "greeter",
  "driver",
  "settings",
  "filemanager",
  "ime",
  "framework",
];

/**
 * Reverse dependencies: no other active app may be left depending on `appId` at a version it
 * no longer gets (`version` null: the app goes away).
 */
export function checkDependents(
  appId: string,
  version: string | null,
  snap: Snapshot,
  action = `change ${appId}`,
): void {
  for (const [id, app] of snap.apps) {
    if (id === appId || app.state !== "active") continue;
    for (const dep of app.dependencies) {
      if (dep.name === appId && (version === null || !satisfies(version, dep.versionConstraint))) {
        throw new NxError(
          "dependency.required_by",
          `cannot ${action}: ${id} needs ${appId} ${dep.versionConstraint}`,
          {
            hint: version === null
              ? `uninstall ${id} first (\`nx pkg uninstall ${id}\`), then ${appId}`
              : `move ${id} to a version that accepts ${appId} ${version} first, or keep ${appId} ${dep.versionConstraint}`,
            details: { dependent: id, constraint: dep.versionConstraint, version },
          },
        );
      }
    }
  }
}

/**
 * trust: data kept by `uninstall --keep-data` belongs to the publisher that left it. Another
 * publisher's bundle of the same id would adopt it and run its own migrations on it, so it is
 * refused until the data is gone. Data kept before owners were recorded (no record) is adopted
 * as before.
 */
export function checkKeptData(bundle: VerifiedBundle, snap: Snapshot): void {
  const m = bundle.manifest;
  const owner = snap.keptDataOwner;
  if (snap.installed || snap.keptData.length === 0 || owner === undefined) return;
  if (owner.publisher === m.publisher) return;
  throw new NxError(
    "preflight.kept_data_foreign",
    `cannot install ${m.name}: the data kept from ${m.name} ${owner.version} belongs to publisher ${owner.publisher}`,
    {
      details: {
        appId: m.name,
        keptPublisher: owner.publisher,
        bundlePublisher: m.publisher,
        keptVersions: snap.keptData,
      },
      hint: `\`nx pkg clear-data ${m.name}\` deletes the kept data (after a backup, if you need ` +
        "it), then install again",
    },
  );
}

/** Headroom kept free on the file system beyond what the operation writes. */
export const SPACE_MARGIN = 1024 * 1024;

export function preflight(bundle: VerifiedBundle, snap: Snapshot): void {
  const m = bundle.manifest;
  // trust: a permissive or audit-only verification never installs silently
  if (!bundle.signer.trusted && !snap.policy.dev_mode) {
    throw new NxError(
      "policy.untrusted",
      `cannot install ${m.name}: the bundle is not fully trusted`,
      {
        details: { warnings: bundle.warnings },
        hint: "trust the publisher (nx pkg trust add), or turn dev-mode on to install it anyway",
      },
    );
  }
  if (compareVersions(m.minSdk, snap.policy.sdk_version) > 0) {
    throw new NxError(
      "preflight.min_sdk",
      `cannot install ${m.name}: needs SDK ${m.minSdk}, root has ${snap.policy.sdk_version}`,
      {
        details: { minSdk: m.minSdk, sdk: snap.policy.sdk_version },
      },
    );
  }
  if (snap.policy.root_role === "user" && SYSTEM_TYPES.includes(m.bundleType)) {
    throw new NxError(
      "preflight.bundle_type_denied",
      `cannot install ${m.name}: a user root does not accept ${m.bundleType} bundles`,
      {
        details: { bundleType: m.bundleType, rootRole: snap.policy.root_role },
      },
    );
  }
  if (snap.installed && snap.installed.publisher !== m.publisher) {
    throw new NxError(
      "preflight.id_collision",
      `cannot install ${m.name}: installed from publisher ${snap.installed.publisher}`,
      {
        details: { installedPublisher: snap.installed.publisher, bundlePublisher: m.publisher },
      },
    );
  }
  checkKeptData(bundle, snap);
  for (const dep of m.dependencies) {
    const have = snap.apps.get(dep.name);
    if (!have || have.state !== "active" || !satisfies(have.version, dep.versionConstraint)) {
      throw new NxError(
        "dependency.missing",
        `cannot install ${m.name}: needs ${dep.name} ${dep.versionConstraint}`,
        {
          hint: !have
            ? `install ${dep.name} (${dep.versionConstraint}) first: \`nx pkg install <${dep.name} bundle>\``
            : have.state !== "active"
            ? `${dep.name} ${have.version} is ${have.state}: finish or repair it first (\`nx pkg doctor\`)`
            : `${dep.name} ${have.version} is installed: move it to a version in ${dep.versionConstraint} first (\`nx pkg upgrade\` or \`nx pkg rollback ${dep.name}\`)`,
          details: {
            dependency: dep.name,
            constraint: dep.versionConstraint,
            installed: have?.version ?? null,
          },
        },
      );
    }
  }
  const retainedBytes = snap.installed?.versions.reduce((n, v) => n + v.size, 0) ?? 0;
  const quota = snap.policy.app_quota_mib * 1024 * 1024;
  const appBytes = retainedBytes + bundle.totalSize + 2 * snap.dataBytes;
  if (quota > 0 && appBytes > quota) {
    throw new NxError(
      "preflight.quota",
      `cannot install ${m.name}: ${appBytes} bytes exceeds the app quota`,
      {
        details: { bytes: appBytes, quota },
      },
    );
  }
  const needed = bundle.totalSize + snap.dataBytes + SPACE_MARGIN;
  if (needed > snap.freeBytes) {
    throw new NxError(
      "preflight.no_space",
      `cannot install ${m.name}: needs ${needed} bytes, ${snap.freeBytes} free`,
      {
        details: { needed, free: snap.freeBytes },
      },
    );
  }
}
