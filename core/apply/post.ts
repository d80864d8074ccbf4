/** Post-commit steps: idempotent clean-up and hooks; a failure here is a warning, never an undo. */
import { extname, join } from "node:path";
import type { Plan, PostStep } from "../plan/mod.ts";
import {
  appPaths,
  mkdirp,
  readFileOr,
  removeTree,
  stagingPaths,
  writeFileAtomic,
} from "../store/mod.ts";
import type { ApplyEnv } from "./env.ts";

function iconDir(env: ApplyEnv, appId: string): string {
  return join(env.paths.pkg, "cache", "icons", appId);
}

export async function runPostStep(step: PostStep, plan: Plan, env: ApplyEnv): Promise<void> {
  const app = appPaths(env.paths, plan.appId);
  switch (step.kind) {
    case "gc-versions":
      for (const v of step.versions) {
        await removeTree(app.version(v));
        await removeTree(app.dataOf(v));
      }
      return;
    case "warm-icon-cache": {
      // The launcher reads pkg/cache/icons/<app>/icon<ext> without opening bundles.
      const icon = await readFileOr(join(app.version(step.version), step.icon), undefined);
      if (icon === undefined) return;
      const dir = iconDir(env, plan.appId);
      await removeTree(dir);
      await mkdirp(dir);
      await writeFileAtomic(join(dir, `icon${extname(step.icon)}`), icon);
      return;
    }
    case "drop-icon-cache":
      await removeTree(iconDir(env, plan.appId));
      return;
    case "notify-registry": {
      // One small file replaced atomically per committed change: cheap to watch (inotify).
      const stamp = {
        format: "nx-registry-stamp",
        version: 1,
        txid: plan.txid,
        op: plan.op,
        app: plan.appId,
        to: plan.toVersion,
      };
      await writeFileAtomic(
        join(env.paths.pkg, "registry.stamp"),
        new TextEncoder().encode(JSON.stringify(stamp) + "\n"),
      );
      return;
    }
    case "purge-staging":
      await removeTree(stagingPaths(env.paths, plan.txid).dir);
      return;
  }
}
