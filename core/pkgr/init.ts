/**
 * `nx pkg init`: creates the state root's skeleton (`pkg/root.json`, `apps/`) and its registry,
 * idempotently. The other commands that create a root are the first `trust add` and the first
 * successful install; everything else refuses a missing root with `root.not_found`.
 */
import type { InitResult } from "../api/mod.ts";
import { createRoot, initRoot, loadTrust, removeCreatedRoot, withRootLock } from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import { rootCreated } from "./trust_admin.ts";

export async function init(ctx: OpContext): Promise<InitResult> {
  const created = await createRoot(ctx.paths);
  try {
    return await withRootLock(ctx.paths, "init", async () => {
      // An existing root is only checked (its layout version) and completed (a missing apps/).
      if (!created) await initRoot(ctx.paths);
      const { publishers } = await loadTrust(ctx.paths);
      if (created) {
        const { auditChange } = await import("./admin_audit.ts");
        await auditChange(ctx, rootCreated(ctx.paths));
      }
      return {
        root: ctx.paths.root,
        created: created !== undefined,
        publishers: publishers.publishers.length,
      };
    });
  } catch (e) {
    if (created) await removeCreatedRoot(ctx.paths, created).catch(() => {});
    throw e;
  }
}
