/**
 * A session on one root: the lock (for writers), crash recovery before anything else, the
 * registry, and the trust state. Every lifecycle operation runs inside one. What applies plans
 * and recovers (core/apply, core/migrate) is loaded only by a session that holds the lock: a
 * reader of a root without a journal (`list`, `info`) never loads it.
 */
import type { ApplyEnv, Faults, Recovery } from "../apply/mod.ts";
import { openRegistry, type Registry, registryUrlForFile } from "../registry/mod.ts";
import {
  acquireLock,
  createRoot,
  exists,
  initRoot,
  loadTrust,
  removeCreatedRoot,
  requireRoot,
  type RootLock,
  type TrustState,
  tryAcquireLock,
} from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import {
  detectMissingRegistry,
  type MissingRegistry,
  missingRegistryError,
} from "./doctor/registry_missing.ts";

export interface ServiceOptions {
  /** A libSQL URL for a shared fleet registry; default file:<root>/pkg/registry.db. */
  registryUrl?: string;
  /** Test-only fault triggers (NX_FAULT), for the calls of one Pkgr instance. */
  faults?: Faults;
}

export interface Session {
  registry: Registry;
  trust: TrustState;
  /** How plans are applied: set in every session that holds the lock (every writer's). */
  env?: ApplyEnv;
  recovered?: Recovery;
  /** Set when the registry was missing on a root with installed apps (doctor only). */
  registryMissing?: MissingRegistry;
}

export interface SessionMode {
  mode: "write" | "read";
  op: string;
  /** doctor --repair: move an unreadable journal aside instead of failing. */
  quarantineCorruptJournal?: boolean;
  /**
   * doctor: a missing registry (see doctor/registry_missing.ts) is handed to the body instead of
   * refused with `registry.missing`.
   */
  allowMissingRegistry?: boolean;
  /**
   * A missing root is refused with `root.not_found` (creating nothing) unless this is set:
   * `keep` creates it and keeps it only when the body succeeds (a first install: a refused or
   * failed one leaves no root behind), `discard` creates it for the session and always removes it
   * again (a dry run of a first install).
   */
  createRoot?: "keep" | "discard";
}

/** How `root.not_found` names what a session's command could not do (else its op's name). */
const ACTIONS: Record<string, string> = {
  list: "list the apps",
  info: "show the app",
  history: "read the audit log",
  query: "query the registry",
  doctor: "check the root",
};

/**
 * Runs `body` in a session. A missing root is `root.not_found` (see {@link SessionMode.createRoot}).
 * Writers hold the root lock throughout. Readers never block and never create anything: they read
 * the last committed state, taking the lock only to recover an interrupted transaction first
 * (when its journal exists and nobody holds the lock).
 */
export async function withSession<T>(
  ctx: OpContext,
  options: ServiceOptions,
  how: SessionMode,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const created = how.mode === "write" && how.createRoot
    ? await createRoot(ctx.paths)
    : (await requireRoot(ctx.paths, ACTIONS[how.op] ?? how.op), undefined);
  let ok = false;
  let lock: RootLock | undefined;
  let registry: Registry | undefined;
  try {
    if (how.mode === "write") {
      await initRoot(ctx.paths);
      lock = await acquireLock(ctx.paths, how.op);
    } else if (await exists(ctx.paths.journal)) {
      lock = await tryAcquireLock(ctx.paths, how.op);
    }
    const result = await run(ctx, options, how, lock, (r) => (registry = r), body);
    ok = true;
    return result;
  } finally {
    registry?.close();
    try {
      // A root this session made goes again unless it now holds what a successful body left.
      if (created && (!ok || how.createRoot === "discard")) {
        await removeCreatedRoot(ctx.paths, created).catch(() => {});
      }
    } finally {
      lock?.release();
    }
  }
}

async function run<T>(
  ctx: OpContext,
  options: ServiceOptions,
  how: SessionMode,
  lock: RootLock | undefined,
  opened: (registry: Registry) => void,
  body: (session: Session) => Promise<T>,
): Promise<T> {
  const trust = await loadTrust(ctx.paths);
  const url = options.registryUrl ?? registryUrlForFile(ctx.paths.registryDb);
  // Before the open: a writer's open would create the missing database and hide the loss.
  const registryMissing = await detectMissingRegistry(ctx.paths, url);
  if (registryMissing && !how.allowMissingRegistry) {
    throw missingRegistryError(registryMissing, url);
  }
  const registry = await openRegistry(url, { readOnly: !lock });
  opened(registry);
  if (!lock) return await body({ registry, trust, registryMissing });
  const { applyEnv, recoverWith } = await import("./session_recovery.ts");
  const env = applyEnv(ctx, options, trust, registry);
  const recovered = await recoverWith(env, ctx, how.quarantineCorruptJournal === true);
  if (lock.staleHolder && !recovered) {
    ctx.reporter.emit({
      kind: "warning",
      code: "lock.stale",
      message: `took over a stale lock from pid ${lock.staleHolder}`,
    });
  }
  return await body({ registry, trust, env, recovered, registryMissing });
}
