/**
 * The part of a session that holds the lock (session.ts): the environment plans are applied in,
 * and the recovery of an interrupted transaction before anything else. Loaded only then.
 */
import {
  appBytesBesideData,
  type ApplyEnv,
  migrationRecordPath,
  NO_FAULTS,
  recover,
  type Recovery,
} from "../apply/mod.ts";
import { NxError } from "../errors.ts";
import { runMigrations } from "../migrate/mod.ts";
import type { Registry } from "../registry/mod.ts";
import type { TrustState } from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import type { ServiceOptions } from "./session.ts";

export function applyEnv(
  ctx: OpContext,
  options: ServiceOptions,
  trust: TrustState,
  registry: Registry,
): ApplyEnv {
  return {
    paths: ctx.paths,
    registry,
    reporter: ctx.reporter,
    faults: options.faults ?? NO_FAULTS,
    signal: ctx.signal,
    runMigrations: (chain, bundleDir, dataDir, plan) => {
      const quotaMib = trust.policy.app_quota_mib;
      return runMigrations(
        chain,
        bundleDir,
        dataDir,
        { stepTimeoutMs: trust.policy.migration_step_timeout_ms },
        {
          recordPath: migrationRecordPath(ctx.paths, plan.txid),
          // The sum preflight checked, with the migrated data measured instead of estimated.
          quota: quotaMib > 0
            ? { limitBytes: quotaMib * 1024 * 1024, fixedBytes: appBytesBesideData(plan) }
            : undefined,
        },
      );
    },
  };
}

export async function recoverWith(
  env: ApplyEnv,
  ctx: OpContext,
  quarantine: boolean,
): Promise<Recovery | undefined> {
  let recovered: Recovery | undefined;
  try {
    recovered = await recover(env);
  } catch (e) {
    if (!(e instanceof NxError && e.code === "journal.corrupt")) throw e;
    if (!quarantine) throw e;
    const aside = `${env.paths.journal}.corrupt.${ctx.now.getTime()}`;
    await Deno.rename(env.paths.journal, aside);
    await env.registry.audit({
      time: ctx.now.toISOString(),
      op: "repair",
      result: "journal.corrupt",
      details: { quarantined: aside },
    });
    env.reporter.emit({
      kind: "warning",
      code: "journal.corrupt",
      message: `moved an unreadable journal to ${aside}`,
    });
    return undefined;
  }
  if (!recovered) return undefined;
  await env.registry.audit({
    time: ctx.now.toISOString(),
    op: "recover",
    appId: recovered.appId,
    fromVersion: recovered.fromVersion ?? undefined,
    toVersion: recovered.toVersion ?? undefined,
    result: "ok",
    details: { txid: recovered.txid, interruptedOp: recovered.op, outcome: recovered.outcome },
  });
  for (const w of recovered.warnings) env.reporter.emit({ kind: "warning", ...w });
  env.reporter.emit({
    kind: "warning",
    code: "journal.recovered",
    message: `recovered an interrupted ${recovered.op} of ${recovered.appId}: ${recovered.outcome}`,
  });
  return recovered;
}
