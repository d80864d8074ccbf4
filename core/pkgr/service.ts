/**
 * The methods of the contract that run in a session on the root (lock + recovery + registry):
 * install, upgrade, rollback and uninstall plan purely, apply as one transaction and record their
 * outcome — success or refusal — in the audit log (list, info, history and query: reads.ts).
 * createPkgr (pkgr.ts) loads this module only for these methods.
 */
import { resolve } from "node:path";
import { NxError } from "../errors.ts";
import type {
  AuditEntry,
  ClearDataRequest,
  InstallRequest,
  OpResult,
  RepairRequest,
  RollbackRequest,
  UninstallRequest,
  UpgradeRequest,
} from "../api/mod.ts";
import { throwIfCancelled } from "../api/failure.ts";
import { applyPlan } from "../apply/mod.ts";
import {
  type Damage,
  type Plan,
  planClearData,
  planInstall,
  planRestore,
  planRollback,
  planUninstall,
} from "../plan/mod.ts";
import { appPaths, BundleStage, stagingPaths } from "../store/mod.ts";
import { marker, type OpContext } from "./context.ts";
import { licensingOf, refuseInactive, requireEntitlement } from "./entitlement_gate.ts";
import { damageOf, stagedVerifier } from "./repair.ts";
import { migrationFailed, opResult } from "./results.ts";
import { type ServiceOptions, type Session, type SessionMode, withSession } from "./session.ts";
import { snapshotFor } from "./snapshot.ts";
import { bundleName, bundlePath, verifyAt } from "./verify.ts";

function newTxid(now: Date): string {
  const rand = crypto.getRandomValues(new Uint8Array(4));
  return `${now.getTime().toString(36)}-${
    Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
}

/** What an operation is audited as; `asked`: what was asked, for a refusal that names no app. */
type AuditedAs = Omit<AuditEntry, "time" | "result"> & { asked?: Record<string, unknown> };

/**
 * A refusal names its app only when there is one: an install's app is the verified manifest's
 * name (a path that is no bundle has none), and an app argument that names no app
 * (`app.not_installed`) is not recorded as one. Such an entry has no app; its details say what was
 * asked (`bundle` or `app`), see docs/registry.md#the-audit-log.
 */
function refusal(as: AuditedAs, appId: string | undefined, code: string, time: string): AuditEntry {
  const { asked, appId: _, ...entry } = as;
  if (appId !== undefined && code !== "app.not_installed") {
    return { ...entry, appId, time, result: code };
  }
  const details = asked ?? (appId !== undefined ? { app: appId } : undefined);
  return { ...entry, time, result: code, ...(details ? { details } : {}) };
}

/** Records every operation that is not a dry run in the audit log, refused ones with their code. */
async function audited<T extends OpResult>(
  s: Session,
  ctx: OpContext,
  dryRun: boolean,
  as: AuditedAs,
  run: (setApp: (id: string) => void) => Promise<T>,
): Promise<T> {
  const { asked: _, ...entry } = as;
  let appId = entry.appId;
  const time = ctx.now.toISOString();
  let result: T;
  try {
    result = await run((id) => (appId = id));
  } catch (e) {
    if (!dryRun) {
      const code = e instanceof NxError ? e.code : "internal.unexpected";
      await s.registry.audit(refusal(as, appId, code, time)).catch(() => {});
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
  if (dryRun || plan.steps.length === 0) return opResult(plan, dryRun);
  throwIfCancelled(ctx.signal);
  if (!s.env) throw new Error("a write session holds the lock, so it has an apply environment");
  const env = plan.steps.some((step) => step.kind === "verify-staged")
    ? { ...s.env, verifyStaged: stagedVerifier(s, ctx) }
    : s.env;
  const { warnings } = await applyPlan(plan, env).catch((e) => {
    throw migrationFailed(e, plan);
  });
  for (const w of warnings) ctx.reporter.emit({ kind: "warning", ...w });
  return opResult(plan, false, warnings);
}

/** The session methods, for one call's context (createPkgr joins the root and the call). */
export function sessionMethods(ctx: OpContext, options: ServiceOptions) {
  const session = async <T>(
    mode: "read" | "write",
    op: string,
    body: (s: Session) => Promise<T>,
    createRoot?: SessionMode["createRoot"],
  ): Promise<T> => {
    throwIfCancelled(ctx.signal);
    return await withSession(ctx, options, { mode, op, createRoot }, body);
  };

  const installOrUpgrade = (op: "install" | "upgrade", req: InstallRequest) =>
    session(
      "write",
      op,
      (s) =>
        audited(
          s,
          ctx,
          req.dryRun === true,
          { op, asked: { bundle: bundleName(req.bundle) } },
          async (setApp) => {
            const source = resolve(bundlePath(req.bundle));
            // One pass: the verifying read writes the staging copy that stage-version adopts
            // (store/stage.ts); a stage that no step adopted is removed when this call ends.
            const txid = newTxid(ctx.now);
            await using stage = req.dryRun === true
              ? undefined
              : BundleStage.open(source, stagingPaths(ctx.paths, txid));
            const bundle = await verifyAt(source, ctx, s.trust, stage);
            const appId = bundle.manifest.name;
            setApp(appId);
            const snap = await snapshotFor(appId, s, ctx);
            // The entitlement gate, before anything is written (docs/licensing.md): an upgrade
            // of an inactive paid app, and a bundle with a sku, read the root's facts once.
            const installedSku = op === "upgrade" ? snap.installed?.sku : undefined;
            const sku = bundle.manifest.sku;
            if (installedSku !== undefined || sku !== undefined) {
              const l = await licensingOf(s, ctx);
              refuseInactive(l, ctx, appId, installedSku, `upgrade ${appId}`);
              if (sku !== undefined) requireEntitlement(l, ctx, appId, sku, `${op} ${appId}`);
            }
            if (req.reinstall === true && snap.installed) {
              // The same version again, from this bundle: what the tree lost is put back.
              const damage = await damageOf(snap.installed, ctx);
              const plan = planRestore(
                {
                  op: "reinstall",
                  txid,
                  appId: snap.installed.id,
                  source,
                  bundle,
                  damage,
                },
                snap,
              );
              return await apply(plan, s, ctx, req.dryRun === true);
            }
            const plan = planInstall(
              {
                op,
                txid,
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
      // Only a first install creates a root, and keeps it only when it succeeds.
      op === "install" ? (req.dryRun === true ? "discard" : "keep") : undefined,
    );

  return {
    install: (req: InstallRequest): Promise<OpResult> => installOrUpgrade("install", req),
    upgrade: (req: UpgradeRequest): Promise<OpResult> => installOrUpgrade("upgrade", req),
    repair: (req: RepairRequest): Promise<OpResult> =>
      session(
        "write",
        "repair",
        (s) =>
          audited(s, ctx, req.dryRun === true, { op: "repair", appId: req.app }, async () => {
            const snap = await snapshotFor(req.app, s, ctx);
            const damage: Damage = snap.installed
              ? await damageOf(snap.installed, ctx)
              : { missing: [], changed: [], unexpected: [] };
            const source = snap.installed
              ? appPaths(ctx.paths, req.app).version(snap.installed.version)
              : ctx.paths.root;
            const plan = planRestore(
              { op: "repair", txid: newTxid(ctx.now), appId: req.app, source, damage },
              snap,
            );
            return await apply(plan, s, ctx, req.dryRun === true);
          }),
      ),
    clearData: (req: ClearDataRequest): Promise<OpResult> =>
      session(
        "write",
        "clear-data",
        (s) =>
          audited(s, ctx, req.dryRun === true, { op: "clear-data", appId: req.app }, async () => {
            const plan = planClearData(
              { txid: newTxid(ctx.now), appId: req.app },
              await snapshotFor(req.app, s, ctx, true),
            );
            return await apply(plan, s, ctx, req.dryRun === true);
          }),
      ),
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
            if (req.keepData === true && req.purge === true) {
              throw new NxError(
                "usage.invalid_argument",
                `cannot uninstall ${req.app}: --keep-data and --purge contradict each other`,
                { hint: "the data is kept by default; --purge deletes it" },
              );
            }
            const plan = planUninstall(
              { txid: newTxid(ctx.now), appId: req.app, purge: req.purge === true },
              await snapshotFor(req.app, s, ctx, true),
            );
            return await apply(plan, s, ctx, req.dryRun === true);
          }),
      ),
  };
}
