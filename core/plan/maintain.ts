/**
 * plan(reinstall | repair) and plan(clear-data). Pure. A restore stages the active version's
 * files again (re-hashed against its record), verifies the staged copy as `nx pkg verify` does,
 * moves the damaged tree aside and publishes the copy in its place; the data is not touched.
 */
import { NxError } from "../errors.ts";
import type { AppRecord, RestoreReport, VersionRecord } from "../api/mod.ts";
import type { VerifiedBundle } from "../trust/mod.ts";
import { notInstalled } from "./closest.ts";
import { dataPaths, installedOrThrow } from "./lifecycle.ts";
import { checkDependents, preflight, SPACE_MARGIN } from "./preflight.ts";
import { iconPost, versionRecord } from "./records.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Plan, Step } from "./types.ts";

/** What the service found comparing the active version's tree with its record. */
export interface Damage {
  missing: string[];
  changed: string[];
  unexpected: string[];
}

export interface RestorePlanInput {
  op: "reinstall" | "repair";
  txid: string;
  appId: string;
  /** Absolute path the files are staged from: the bundle (reinstall) or versions/<v> (repair). */
  source: string;
  /** reinstall: the verified bundle, of the active version. */
  bundle?: VerifiedBundle;
  damage: Damage;
}

export const isIntact = (d: Damage) =>
  d.missing.length + d.changed.length + d.unexpected.length === 0;

function reinstallRecord(installed: AppRecord, bundle: VerifiedBundle, now: string): AppRecord {
  const m = bundle.manifest;
  if (m.version !== installed.version) {
    throw new NxError(
      "app.already_installed",
      `cannot reinstall ${m.name} ${m.version}: ${installed.version} is installed`,
      {
        hint: installed.versions.some((v) => v.version === m.version)
          ? `--reinstall puts back the active version; ${m.version} is retained: \`nx pkg rollback ${m.name} --to ${m.version}\``
          : `--reinstall puts back the active version; use \`nx pkg upgrade\` to move to ${m.version}`,
        details: { installed: installed.version, bundle: m.version },
      },
    );
  }
  const active: VersionRecord = {
    ...versionRecord(bundle, now),
    installedAt: installed.versions.find((v) => v.version === m.version)!.installedAt,
  };
  return withActiveFirst(installed, active, now);
}

function withActiveFirst(record: AppRecord, active: VersionRecord, now: string): AppRecord {
  return {
    ...record,
    versions: [active, ...record.versions.filter((v) => v.version !== active.version)],
    updatedAt: now,
  };
}

/**
 * reinstall: from a verified bundle of the installed active version (same publisher, every gate
 * of install). repair: from the copy nx keeps, which must still hold every file intact —
 * otherwise `repair.no_source`. An intact tree gives a plan without steps (nothing to do).
 */
export function planRestore(req: RestorePlanInput, snap: Snapshot): Plan {
  const action = req.op === "repair" ? "repair" : "reinstall";
  const installed = installedOrThrow(req.appId, snap, action);
  const version = installed.version;
  const lost = [...req.damage.missing, ...req.damage.changed];
  if (req.op === "repair" && lost.length > 0) {
    throw new NxError(
      "repair.no_source",
      `cannot repair ${req.appId} ${version}: ${lost.length} file(s) missing or changed, and nx keeps no other copy of them`,
      {
        hint:
          `reinstall it from its bundle: \`nx pkg install --reinstall <${req.appId}-${version}.nxb>\``,
        details: { ...req.damage, version },
      },
    );
  }
  let after: AppRecord;
  if (req.bundle) {
    preflight(req.bundle, snap);
    checkDependents(req.appId, version, snap, `reinstall ${req.appId}`);
    after = reinstallRecord(installed, req.bundle, snap.now);
  } else {
    const active = installed.versions.find((v) => v.version === version)!;
    after = withActiveFirst(installed, active, snap.now);
  }
  const restored: RestoreReport = {
    source: req.bundle ? "bundle" : "kept",
    ...req.damage,
  };
  const base = {
    txid: req.txid,
    op: req.op,
    appId: req.appId,
    fromVersion: version,
    toVersion: version,
    source: req.source,
    before: installed,
    after,
    restored,
  };
  if (req.op === "repair" && isIntact(req.damage)) return { ...base, steps: [], post: [] };
  const size = after.versions[0].size;
  if (size + SPACE_MARGIN > snap.freeBytes) {
    throw new NxError(
      "preflight.no_space",
      `cannot ${action} ${req.appId}: needs ${size + SPACE_MARGIN} bytes, ${snap.freeBytes} free`,
      { details: { needed: size + SPACE_MARGIN, free: snap.freeBytes } },
    );
  }
  const steps: Step[] = [
    { kind: "stage-version", version },
    { kind: "verify-staged", version },
    { kind: "retire-files", version },
    { kind: "publish-version", version },
    { kind: "commit-registry" },
  ];
  return {
    ...base,
    steps,
    post: [
      ...iconPost(after.versions[0].manifest, version),
      { kind: "notify-registry" },
      { kind: "purge-staging" },
    ],
  };
}

export interface ClearDataPlanInput {
  txid: string;
  appId: string;
}

/**
 * An installed app: its data/ is moved aside and recreated with an empty data/<v> for every
 * retained version (the app stays installed; a rollback finds empty data too). An app that is
 * not installed: the data `uninstall` kept (apps/<id>/data) is removed. Either way
 * the old data is deleted after the commit point, with the transaction's staging area.
 */
export function planClearData(req: ClearDataPlanInput, snap: Snapshot): Plan {
  const base = { txid: req.txid, op: "clear-data" as const, appId: req.appId };
  const post = [{ kind: "notify-registry" } as const, { kind: "purge-staging" } as const];
  const paths = dataPaths(req.appId, snap, "remove");
  if (snap.installed) {
    const installed = snap.installed;
    return {
      ...base,
      fromVersion: installed.version,
      toVersion: installed.version,
      steps: [
        { kind: "detach-data" },
        { kind: "create-data", versions: installed.versions.map((v) => v.version) },
      ],
      post,
      before: installed,
      after: installed,
      paths,
    };
  }
  if (snap.keptData.length === 0) {
    throw notInstalled(req.appId, "clear the data of", snap.apps.keys());
  }
  return {
    ...base,
    fromVersion: null,
    toVersion: null,
    // Only data/ goes: anything else under apps/<id> (an orphaned install) is doctor's to judge.
    steps: [{ kind: "detach-data" }],
    post,
    paths,
  };
}
