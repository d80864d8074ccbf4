/**
 * The methods of the contract that run in a session on the root (lock + recovery + registry):
 * install, upgrade, rollback and uninstall plan purely, apply as one transaction and record their
 * outcome — success or refusal — in the audit log; list, info, history and query read the
 * registry. createPkgr (pkgr.ts) loads this module only for these methods.
 */
import { basename, resolve } from "node:path";
import { NxError } from "../errors.ts";
import {
  type AppInfo,
  type AppSummary,
  type AuditEntry,
  type HistoryRequest,
  type InfoRequest,
  type InstallRequest,
  type ListRequest,
  type OpResult,
  type QueryHit,
  type RegistryQuery,
  type RollbackRequest,
  throwIfCancelled,
  type UninstallRequest,
  type UpgradeRequest,
} from "../api/mod.ts";
import { applyPlan, readJournal } from "../apply/mod.ts";
import { type Plan, planInstall, planRollback, planUninstall } from "../plan/mod.ts";
import { appPaths, treeSize } from "../store/mod.ts";
import { marker, type OpContext } from "./context.ts";
import { opResult, summary, summaryRowOf } from "./results.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";
import { snapshotFor } from "./snapshot.ts";
import { bundlePath, verifyAt } from "./verify.ts";

function newTxid(now: Date): string {
  const rand = crypto.getRandomValues(new Uint8Array(4));
  return `${now.getTime().toString(36)}-${
    Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** Records every operation that is not a dry run in the audit log, refused ones with their code. */
async function audited<T extends OpResult>(
  s: Session,
  ctx: OpContext,
  dryRun: boolean,
  entry: Omit<AuditEntry, "time" | "result">,
  run: (setApp: (id: string) => void) => Promise<T>,
): Promise<T> {
  let appId = entry.appId;
  const time = ctx.now.toISOString();
  let result: T;
  try {
    result = await run((id) => (appId = id));
  } catch (e) {
    if (!dryRun) {
      const code = e instanceof NxError ? e.code : "internal.unexpected";
      await s.registry.audit({ ...entry, appId, time, result: code }).catch(() => {});
    }
    throw e;
  }
  if (dryRun) return result;
  // The transaction has committed: failing to log it must not report the change as failed.
  try {
    const versions = {
      fromVersion: result.fromVersion ?? undefined,
      toVersion: result.toVersion ?? undefined,
    };
    await s.registry.audit({ ...entry, appId, ...versions, time, result: "ok" });
  } catch (e) {
    const message = `cannot write the audit entry: ${e instanceof Error ? e.message : String(e)}`;
    ctx.reporter.emit({ kind: "warning", code: "registry.failed", message });
    result.warnings.push({ code: "registry.failed", message });
  }
  return result;
}

async function apply(plan: Plan, s: Session, ctx: OpContext, dryRun: boolean): Promise<OpResult> {
  if (dryRun) return opResult(plan, true);
  throwIfCancelled(ctx.signal);
  const { warnings } = await applyPlan(plan, s.env);
  for (const w of warnings) ctx.reporter.emit({ kind: "warning", ...w });
  return opResult(plan, false, warnings);
}

/** The session methods, for one call's context (createPkgr joins the root and the call). */
export function sessionMethods(ctx: OpContext, options: ServiceOptions) {
  const session = async <T>(
    mode: "read" | "write",
    op: string,
    body: (s: Session) => Promise<T>,
  ): Promise<T> => {
    throwIfCancelled(ctx.signal);
    return await withSession(ctx, options, { mode, op }, body);
  };

  const installOrUpgrade = (op: "install" | "upgrade", req: UpgradeRequest) =>
    session(
      "write",
      op,
      (s) =>
        audited(
          s,
          ctx,
          req.dryRun === true,
          { op, appId: basename(bundlePath(req.bundle)).replace(/\.nxb$/, "") },
          async (setApp) => {
            const source = resolve(bundlePath(req.bundle));
            const bundle = await verifyAt(source, ctx, s.trust);
            setApp(bundle.manifest.name);
            const snap = await snapshotFor(bundle.manifest.name, s, ctx);
            const plan = planInstall(
              {
                op,
                txid: newTxid(ctx.now),
                source,
                bundle,
                allowDowngrade: req.allowDowngrade === true,
              },
              snap,
            );
            const result = await apply(plan, s, ctx, req.dryRun === true);
            if (!result.dryRun) {
              marker(ctx, `pkgr: install app=${plan.appId} v=${plan.toVersion}`);
              marker(ctx, `pkgr: activate current=${plan.toVersion}`);
            }
            return result;
          },
        ),
    );

  return {
    install: (req: InstallRequest): Promise<OpResult> => installOrUpgrade("install", req),
    upgrade: (req: UpgradeRequest): Promise<OpResult> => installOrUpgrade("upgrade", req),
    rollback: (req: RollbackRequest): Promise<OpResult> =>
      session(
        "write",
        "rollback",
        (s) =>
          audited(s, ctx, req.dryRun === true, { op: "rollback", appId: req.app }, async () => {
            const plan = planRollback(
              { txid: newTxid(ctx.now), appId: req.app, to: req.to },
              await snapshotFor(req.app, s, ctx),
            );
            const result = await apply(plan, s, ctx, req.dryRun === true);
            if (!result.dryRun) {
              marker(ctx, `pkgr: rollback to=${plan.toVersion}`);
              marker(ctx, `pkgr: activate current=${plan.toVersion}`);
            }
            return result;
          }),
      ),
    uninstall: (req: UninstallRequest): Promise<OpResult> =>
      session(
        "write",
        "uninstall",
        (s) =>
          audited(s, ctx, req.dryRun === true, { op: "uninstall", appId: req.app }, async () => {
            const plan = planUninstall(
              { txid: newTxid(ctx.now), appId: req.app, keepData: req.keepData === true },
              await snapshotFor(req.app, s, ctx),
            );
            return await apply(plan, s, ctx, req.dryRun === true);
          }),
      ),
    list: (_req: ListRequest): Promise<AppSummary[]> =>
      session("read", "list", async (s) => {
        const pending = (await readJournal(ctx.paths.journal).catch(() => undefined))?.plan.appId;
        return (await s.registry.summaries()).map((a) => summary(a, a.id === pending));
      }),
    info: ({ app }: InfoRequest): Promise<AppInfo> =>
      session("read", "info", async (s) => {
        const record = await s.registry.get(app);
        if (!record) {
          throw new NxError("app.not_installed", `cannot show ${app}: it is not installed`);
        }
        const pending = (await readJournal(ctx.paths.journal).catch(() =>
          undefined
        ))?.plan.appId === app;
        const current = record.versions.find((v) => v.version === record.version)!.manifest;
        return {
          ...summary(summaryRowOf(record), pending),
          dataSize: await treeSize(appPaths(ctx.paths, app).dataOf(record.version)),
          capabilities: current.capabilities,
          abilities: current.abilities,
          exports: current.exports,
          ...(record.lastDiff ? { lastDiff: record.lastDiff } : {}),
          installedAt: record.installedAt,
          updatedAt: record.updatedAt,
          history: await s.registry.history(app, 20),
        };
      }),
    history: ({ app, limit }: HistoryRequest): Promise<AuditEntry[]> =>
      session("read", "history", (s) => s.registry.history(app, limit)),
    query: (q: RegistryQuery): Promise<QueryHit[]> =>
      session("read", "query", (s) => s.registry.query(q)),
  };
}
