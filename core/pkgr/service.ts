/**
 * `Pkgr`: the one typed service behind `nx pkg` (and, later, `nx agent`). Each operation runs
 * in a session (lock + recovery + registry), plans purely, applies as one transaction, and
 * records its outcome — success or refusal — in the audit log.
 */
import { basename, resolve } from "node:path";
import { NxError } from "../errors.ts";
import { applyPlan, readJournal } from "../apply/mod.ts";
import { type Plan, planInstall, planRollback, planUninstall } from "../plan/mod.ts";
import type { AuditEntry, QueryHit, RegistryQuery } from "../registry/mod.ts";
import { appPaths, treeSize } from "../store/mod.ts";
import type { VerifiedBundle } from "../trust/mod.ts";
import { marker, type OpContext } from "./context.ts";
import {
  type AppInfo,
  type AppSummary,
  type OpResult,
  opResult,
  summary,
  summaryRowOf,
} from "./results.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";
import { snapshotFor } from "./snapshot.ts";
import { verifyAt } from "./verify.ts";

export interface InstallOptions {
  bundle: string;
  dryRun?: boolean;
  /** Permit a lower version than the active one (upgrade) or than kept data (install). */
  allowDowngrade?: boolean;
}
export type UpgradeOptions = InstallOptions;
export interface RollbackOptions {
  app: string;
  to?: string;
  dryRun?: boolean;
}
export interface UninstallOptions {
  app: string;
  keepData?: boolean;
  dryRun?: boolean;
}

export interface Pkgr {
  verify(bundle: string): Promise<VerifiedBundle>;
  install(req: InstallOptions): Promise<OpResult>;
  upgrade(req: UpgradeOptions): Promise<OpResult>;
  rollback(req: RollbackOptions): Promise<OpResult>;
  uninstall(req: UninstallOptions): Promise<OpResult>;
  list(): Promise<AppSummary[]>;
  info(app: string): Promise<AppInfo>;
  history(app?: string, limit?: number): Promise<AuditEntry[]>;
  query(q: RegistryQuery): Promise<QueryHit[]>;
}

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
  const { warnings } = await applyPlan(plan, s.env);
  for (const w of warnings) ctx.reporter.emit({ kind: "warning", ...w });
  return opResult(plan, false, warnings);
}

export function createPkgr(ctx: OpContext, options: ServiceOptions = {}): Pkgr {
  const session = <T>(mode: "read" | "write", op: string, body: (s: Session) => Promise<T>) =>
    withSession(ctx, options, { mode, op }, body);

  const installOrUpgrade = (op: "install" | "upgrade", req: UpgradeOptions) =>
    session(
      "write",
      op,
      (s) =>
        audited(
          s,
          ctx,
          req.dryRun === true,
          { op, appId: basename(req.bundle).replace(/\.nxb$/, "") },
          async (setApp) => {
            const source = resolve(req.bundle);
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
    verify: (bundle) => verifyAt(resolve(bundle), ctx),
    install: (req) => installOrUpgrade("install", req),
    upgrade: (req) => installOrUpgrade("upgrade", req),
    rollback: (req) =>
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
    uninstall: (req) =>
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
    list: () =>
      session("read", "list", async (s) => {
        const pending = (await readJournal(ctx.paths.journal).catch(() => undefined))?.plan.appId;
        return (await s.registry.summaries()).map((a) => summary(a, a.id === pending));
      }),
    info: (app) =>
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
    history: (app, limit) => session("read", "history", (s) => s.registry.history(app, limit)),
    query: (q) => session("read", "query", (s) => s.registry.query(q)),
  };
}
