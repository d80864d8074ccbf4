/** `info`: one app's record, sizes, paths, dependencies and recent history. */
import type { ErrorCode } from "../errors.ts";
import type { AppInfo, AppRecord } from "../api/mod.ts";
import { appPaths, treeSize } from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import { summary, summaryRowOf } from "./results.ts";
import type { Session } from "./session.ts";

export async function appInfo(
  record: AppRecord,
  pending: boolean,
  files: boolean,
  s: Session,
  ctx: OpContext,
  inactive?: ErrorCode,
): Promise<AppInfo> {
  const active = record.versions.find((v) => v.version === record.version)!;
  const current = active.manifest;
  const paths = appPaths(ctx.paths, record.id);
  return {
    ...summary(summaryRowOf(record), pending, inactive),
    dataSize: await treeSize(paths.dataOf(record.version)),
    capabilities: current.capabilities,
    abilities: current.abilities,
    exports: current.exports,
    ...(record.lastDiff ? { lastDiff: record.lastDiff } : {}),
    installedAt: record.installedAt,
    updatedAt: record.updatedAt,
    history: await s.registry.history(record.id, 20),
    dependencies: current.dependencies.map((d) => ({
      name: d.name,
      versionConstraint: d.versionConstraint,
    })),
    path: paths.version(record.version),
    dataPath: paths.dataOf(record.version),
    ...(files ? { files: active.files.map((f) => ({ ...f })) } : {}),
  };
}
