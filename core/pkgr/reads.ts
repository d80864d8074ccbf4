/**
 * The contract's reading methods (list, info, history, query): a read session on the root (no
 * lock unless a journal must be recovered first, see session.ts) and the registry's rows. Kept
 * apart from service.ts so that reading never loads what plans, applies or migrates; createPkgr
 * (pkgr.ts) loads this module only for these methods.
 */
import { NxError } from "../errors.ts";
import type {
  AppInfo,
  AppSummary,
  AuditEntry,
  HistoryRequest,
  InfoRequest,
  ListRequest,
  QueryHit,
  RegistryQuery,
} from "../api/mod.ts";
import { throwIfCancelled } from "../api/failure.ts";
import type { OpContext } from "./context.ts";
import { withCurrentState } from "./doctor/current_state.ts";
import { inactiveReason, licensingOf } from "./entitlement_gate.ts";
import { pendingApp } from "./pending_app.ts";
import { appInfo } from "./info.ts";
import { summary } from "./results.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";

/** `history --id N`: that entry alone. */
async function entry(s: Session, id: number): Promise<AuditEntry[]> {
  const found = await s.registry.auditEntry(id);
  if (!found) {
    throw new NxError("audit.not_found", `cannot show audit entry ${id}: there is none`, {
      details: { id },
      hint: "`nx pkg history` lists the entries with their ids",
    });
  }
  return [found];
}

/** The reading methods, for one call's context (createPkgr joins the root and the call). */
export function readMethods(ctx: OpContext, options: ServiceOptions) {
  const session = <T>(op: string, body: (s: Session) => Promise<T>): Promise<T> => {
    throwIfCancelled(ctx.signal);
    return withSession(ctx, options, { mode: "read", op }, body);
  };
  return {
    list: (_req: ListRequest): Promise<AppSummary[]> =>
      session("list", async (s) => {
        const pending = await pendingApp(ctx.paths);
        const l = await licensingOf(s, ctx);
        const apps = (await s.registry.summaries()).map((a) =>
          summary(a, a.id === pending, inactiveReason(l, a.id, a.sku))
        );
        return withCurrentState(ctx.paths, apps);
      }),
    info: ({ app, files }: InfoRequest): Promise<AppInfo> =>
      session("info", async (s) => {
        const record = await s.registry.get(app);
        if (!record) {
          const ids = (await s.registry.summaries()).map((a) => a.id);
          const { notInstalled } = await import("../plan/mod.ts");
          throw notInstalled(app, "show", ids, "`nx pkg list` shows the installed apps");
        }
        const pending = (await pendingApp(ctx.paths)) === app;
        const reason = inactiveReason(await licensingOf(s, ctx), app, record.sku);
        return await appInfo(record, pending, files === true, s, ctx, reason);
      }),
    history: ({ app, limit, id }: HistoryRequest): Promise<AuditEntry[]> =>
      session("history", (s) => id === undefined ? s.registry.history(app, limit) : entry(s, id)),
    query: (q: RegistryQuery): Promise<QueryHit[]> =>
      session("query", async (s) => {
        const hits = await s.registry.query(q);
        if (hits.length === 0) return hits;
        // A paid app the gate refuses is inactive: the ability guard does not start it.
        const l = await licensingOf(s, ctx);
        const skus = new Map((await s.registry.summaries()).map((a) => [a.id, a.sku]));
        return hits.map((h) =>
          inactiveReason(l, h.appId, skus.get(h.appId)) === undefined
            ? h
            : { ...h, state: "inactive" as const, launchable: false }
        );
      }),
  };
}
