/**
 * A lost registry: `pkg/registry.db` absent, without the nx schema, or without a single app, on a
 * root whose tree still holds installed versions (`apps/<id>/versions/<v>/`). Read commands would
 * otherwise answer "no apps" and `doctor --repair` would take every installed version for an
 * orphan, so the session refuses such a root with `registry.missing` (doctor reports it instead
 * and `--repair` rebuilds the registry from the verified trees). Detection reads only: it runs
 * before the registry is opened, because a writer's open creates a missing database.
 */
import { join } from "node:path";
import { NxError } from "../../errors.ts";
import { probeRegistry, type RegistryPresence } from "../../registry/mod.ts";
import { listDir, lstatAt, type RootPaths } from "../../store/mod.ts";
import { pendingApp } from "../pending_app.ts";

export interface MissingRegistry {
  /** Why the registry counts as missing. */
  reason: Exclude<RegistryPresence, "present">;
  /** Apps with at least one installed version on disk, sorted. */
  apps: string[];
}

const isDir = async (path: string) => (await lstatAt(path))?.type === "dir";

/**
 * The apps with an installed version on disk (real directories only: a link is never followed
 * and never counts), without `skip` (the app of a transaction in flight, which may have published
 * its version before its registry write).
 */
export async function installedOnDisk(paths: RootPaths, skip?: string): Promise<string[]> {
  const out: string[] = [];
  for (const id of await listDir(paths.apps)) {
    if (id === skip) continue;
    const versions = join(paths.apps, id, "versions");
    if (!(await isDir(join(paths.apps, id))) || !(await isDir(versions))) continue;
    for (const v of await listDir(versions)) {
      if (await isDir(join(versions, v))) {
        out.push(id);
        break;
      }
    }
  }
  return out;
}

/**
 * Whether the registry at `url` is missing on a root that has installed apps. Only a local file
 * is probed (a shared remote registry is not the root's own). A root nx cannot walk safely (a
 * link where `apps/` should be) is left to the commands and to doctor, which report it.
 */
export async function detectMissingRegistry(
  paths: RootPaths,
  url: string,
): Promise<MissingRegistry | undefined> {
  try {
    if ((await listDir(paths.apps)).length === 0) return undefined;
    const presence = await probeRegistry(url);
    if (presence === "present") return undefined;
    const apps = await installedOnDisk(paths, await pendingApp(paths));
    return apps.length === 0 ? undefined : { reason: presence, apps };
  } catch (e) {
    if (e instanceof NxError && e.code === "root.unsafe_entry") return undefined;
    throw e;
  }
}

const REASONS: Record<MissingRegistry["reason"], string> = {
  "absent": "the registry database does not exist",
  "no-schema": "the registry database holds no nx schema",
  "no-apps": "the registry lists no app",
};

export function describeMissing(m: MissingRegistry): string {
  return `${REASONS[m.reason]}, yet ${m.apps.length} app(s) are installed (${m.apps.join(", ")})`;
}

export function missingRegistryError(m: MissingRegistry, registryPath: string): NxError {
  return new NxError("registry.missing", `cannot read the registry: ${describeMissing(m)}`, {
    details: { registry: registryPath, reason: m.reason, apps: m.apps },
    hint: "run `nx pkg doctor --repair` to rebuild it from the verified installed versions",
  });
}
