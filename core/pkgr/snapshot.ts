/** Gathers the planning snapshot of one app from the registry and the tree. */
import { compareVersions, isStrictSemver } from "../version/mod.ts";
import type { Snapshot } from "../plan/mod.ts";
import { appPaths, exists, freeBytes, listDir, treeSize } from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import type { Session } from "./session.ts";

/** `sizes`: measure every data/<v> (for plans that remove or keep data and say how much). */
export async function snapshotFor(
  appId: string,
  s: Session,
  ctx: OpContext,
  sizes = false,
): Promise<Snapshot> {
  const app = appPaths(ctx.paths, appId);
  const records = await s.registry.list();
  const installed = records.find((a) => a.id === appId);
  const apps = new Map(records.map((a) => [a.id, {
    version: a.version,
    state: a.state,
    dependencies: a.versions.find((v) => v.version === a.version)?.manifest.dependencies ?? [],
  }]));
  const dataVersions = async () =>
    (await listDir(app.data)).filter(isStrictSemver).sort(compareVersions);
  const keptData = installed ? [] : await dataVersions();
  const dataVersion = installed?.version ?? keptData.at(-1);
  const keptDataOwner = keptData.length > 0 ? await s.registry.keptData(appId) : undefined;
  const measured = sizes
    ? (installed ? await dataVersions() : keptData)
    : dataVersion === undefined
    ? []
    : [dataVersion];
  const dataSizes = [];
  for (const version of measured) {
    dataSizes.push({ version, size: await treeSize(app.dataOf(version)) });
  }
  return {
    policy: s.trust.policy,
    installed,
    apps,
    appDirExists: await exists(app.dir),
    keptData,
    ...(keptDataOwner === undefined ? {} : { keptDataOwner }),
    dataBytes: dataSizes.find((d) => d.version === dataVersion)?.size ?? 0,
    ...(sizes ? { dataSizes } : {}),
    freeBytes: await freeBytes(ctx.paths.root),
    now: ctx.now.toISOString(),
  };
}
