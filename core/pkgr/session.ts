/**
 * A session on one root: the lock (for writers), crash recovery before anything else, the
 * registry, and the trust state. Every lifecycle operation runs inside one.
 */
import { type ApplyEnv, type Faults, NO_FAULTS, recover, type Recovery } from "../apply/mod.ts";
import { openRegistry, type Registry, registryUrlForFile } from "../registry/mod.ts";
import { acquireLock, type RootLock, tryAcquireLock } from "../store/lock.ts";
import { initRoot, loadTrust, type TrustState } from "../store/root.ts";
import { runMigrations } from "../migrate/mod.ts";
import type { OpContext } from "./context.ts";

export interface ServiceOptions {
  /** A libSQL URL for a shared fleet registry; default file:<root>/pkg/registry.db. */
  registryUrl?: string;
  faults?: Faults;
}

export interface Session {
  registry: Registry;
  trust: TrustState;
  env: ApplyEnv;
  recovered?: Recovery;
}

async function recoverWith(env: ApplyEnv): Promise<Recovery | undefined> {
  const recovered = await recover(env);
  if (recovered) {
    await env.registry.audit({
      time: new Date().toISOString(),
      op: "recover",
      appId: recovered.appId,
      fromVersion: recovered.fromVersion ?? undefined,
      toVersion: recovered.toVersion ?? undefined,
      result: "ok",
      details: { txid: recovered.txid, interruptedOp: recovered.op, outcome: recovered.outcome },
    });
    env.reporter.emit({
      kind: "warning",
      code: "journal.recovered",
      message:
        `recovered an interrupted ${recovered.op} of ${recovered.appId}: ${recovered.outcome}`,
    });
  }
  return recovered;
}

/**
 * Runs `body` in a session. Writers hold the root lock throughout; readers take it only when it
 * is free (to recover a crashed transaction first) and otherwise read the last committed state.
 */
export async function withSession<T>(
  ctx: OpContext,
  options: ServiceOptions,
  mode: "write" | "read",
  op: string,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  let lock: RootLock | undefined;
  if (mode === "write") {
    await initRoot(ctx.paths);
    lock = await acquireLock(ctx.paths, op);
  } else {
    lock = await tryAcquireLock(ctx.paths, op).catch(() => undefined);
  }
  let registry: Registry | undefined;
  try {
    const trust = await loadTrust(ctx.paths);
    const url = options.registryUrl ?? registryUrlForFile(ctx.paths.registryDb);
    registry = await openRegistry(url, { readOnly: mode === "read" && !lock });
    const env: ApplyEnv = {
      paths: ctx.paths,
      registry,
      reporter: ctx.reporter,
      faults: options.faults ?? NO_FAULTS,
      runMigrations: (chain, bundleDir, dataDir) =>
        runMigrations(chain, bundleDir, dataDir, {
          stepTimeoutMs: trust.policy.migration_step_timeout_ms,
        }),
    };
    const recovered = lock ? await recoverWith(env) : undefined;
    if (lock?.staleHolder && !recovered) {
      ctx.reporter.emit({
        kind: "warning",
        code: "lock.stale",
        message: `took over a stale lock from pid ${lock.staleHolder}`,
      });
    }
    return await body({ registry, trust, env, recovered });
  } finally {
    registry?.close();
    lock?.release();
  }
}
