/** plan(install | upgrade): SemVer gates, preflight, then the step list. Pure. */
import { NxError } from "../errors.ts";
import { compareVersions } from "../version/mod.ts";
import type { VerifiedBundle } from "../trust/mod.ts";
import { migrationChain } from "./migration_chain.ts";
import { checkDependents, preflight } from "./preflight.ts";
import { activate, iconPost, permissionDiff, versionRecord } from "./records.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Plan, PostStep, Step } from "./types.ts";

export interface InstallPlanInput {
  op: "install" | "upgrade";
  txid: string;
  /** Absolute path of the verified bundle. */
  source: string;
  bundle: VerifiedBundle;
  allowDowngrade: boolean;
}

/** install refuses an installed app; upgrade needs one and a greater version (or a gated downgrade). */
function checkVersions(req: InstallPlanInput, snap: Snapshot): void {
  const { name, version } = req.bundle.manifest;
  const installed = snap.installed;
  if (req.op === "install") {
    if (installed) {
      throw new NxError(
        "app.already_installed",
        `cannot install ${name}: ${installed.version} is installed`,
        {
          hint: installed.version === version
            ? "to put its files back, reinstall it: `nx pkg install --reinstall <bundle>`"
            : `use \`nx pkg upgrade\` to move to ${version}`,
        },
      );
    }
    // Data kept by `uninstall` from a newer version: adopting it is a downgrade.
    const newest = [...snap.keptData].sort(compareVersions).at(-1);
    if (
      newest && compareVersions(version, newest) < 0 &&
      !(snap.policy.dev_mode && req.allowDowngrade)
    ) {
      throw new NxError(
        "upgrade.downgrade_denied",
        `cannot install ${name} ${version} over data kept from ${newest}`,
        {
          hint: "adopting newer data needs the root's dev-mode on and --allow-downgrade",
          details: { kept: newest, bundle: version, devMode: snap.policy.dev_mode },
        },
      );
    }
    return;
  }
  if (!installed) {
    throw new NxError("app.not_installed", `cannot upgrade ${name}: it is not installed`, {
      hint: "use `nx pkg install` for an app that is not installed yet",
    });
  }
  const order = compareVersions(version, installed.version);
  if (order === 0) {
    throw new NxError(
      "upgrade.same_version",
      `cannot upgrade ${name}: ${version} is already installed`,
    );
  }
  if (order < 0 && !(snap.policy.dev_mode && req.allowDowngrade)) {
    throw new NxError(
      "upgrade.downgrade_denied",
      `cannot downgrade ${name} from ${installed.version} to ${version}`,
      {
        hint: "a downgrade needs the root's dev-mode on and --allow-downgrade",
        details: { installed: installed.version, bundle: version, devMode: snap.policy.dev_mode },
      },
    );
  }
}

/** The data a new version starts from: the active version's, else the newest kept, else none. */
function dataOrigin(snap: Snapshot): string | null {
  if (snap.installed) return snap.installed.version;
  const kept = [...snap.keptData].sort(compareVersions);
  return kept.at(-1) ?? null;
}

export function planInstall(req: InstallPlanInput, snap: Snapshot): Plan {
  checkVersions(req, snap);
  preflight(req.bundle, snap);
  const m = req.bundle.manifest;
  checkDependents(m.name, m.version, snap, `${req.op} ${m.name} to ${m.version}`);
  const retained = snap.installed?.versions.some((v) => v.version === m.version) ?? false;
  // A downgrade to a retained version keeps that version's own data (as a rollback would);
  // otherwise data comes forward from the active (or kept) version and is migrated.
  const origin = snap.installed?.version ?? [...snap.keptData].sort(compareVersions).at(-1);
  const downgrade = origin !== undefined && compareVersions(m.version, origin) < 0;
  const from = retained && downgrade ? m.version : dataOrigin(snap);
  const chain = from === null || downgrade
    ? []
    : migrationChain(req.bundle.migrations, from, m.version, snap.policy.migration_max_steps);
  const keptSameVersion = !snap.installed && snap.keptData.includes(m.version);
  const steps: Step[] = [
    ...(snap.appDirExists ? [] : [{ kind: "create-app-dir" } as const]),
    { kind: "stage-version", version: m.version },
    { kind: "prepare-data", from },
    ...(chain.length > 0 ? [{ kind: "run-migrations", chain } as const] : []),
    ...(retained || keptSameVersion
      ? [{ kind: "retire-version", version: m.version } as const]
      : []),
    { kind: "publish-version", version: m.version },
    { kind: "publish-data", version: m.version },
    { kind: "switch-current", to: m.version, from: snap.installed?.version ?? null },
    { kind: "commit-registry" },
  ];
  const previous = snap.installed?.versions ?? [];
  const diff = permissionDiff(previous[0]?.manifest, m);
  const { record, dropped } = activate(
    {
      id: m.name,
      state: "active",
      publisher: m.publisher,
      bundleType: m.bundleType,
      ...(m.sku ? { sku: m.sku } : {}),
      installedAt: snap.installed?.installedAt ?? snap.now,
    },
    versionRecord(req.bundle, snap.now),
    previous,
    snap.policy.retain_versions,
    diff,
    snap.now,
  );
  // Kept data adopted by this install was copied forward; older kept versions go with it.
  const garbage = [...dropped, ...snap.keptData.filter((v) => v !== m.version)];
  const post: PostStep[] = [
    ...(garbage.length > 0 ? [{ kind: "gc-versions", versions: garbage } as const] : []),
    ...iconPost(m, m.version),
    { kind: "notify-registry" },
    { kind: "purge-staging" },
  ];
  return {
    txid: req.txid,
    op: req.op,
    appId: m.name,
    fromVersion: snap.installed?.version ?? null,
    toVersion: m.version,
    source: req.source,
    steps,
    post,
    before: snap.installed,
    after: record,
    diff,
  };
}
