/**
 * The audit log of the root's own changes: `init`, `trust add|remove`, `policy set`. Loaded only
 * when one of them changes something (it opens libSQL; `trust list`, `policy show` and shell
 * completion never load it). The entries go to the root's own registry, `pkg/registry.db`.
 */
import type { AuditEntry } from "../api/mod.ts";
import { openRegistry, type Registry, registryUrlForFile } from "../registry/mod.ts";
import type { OpContext } from "./context.ts";
import { detectMissingRegistry } from "./doctor/registry_missing.ts";

/**
 * Runs `body` with the root's registry open for writing (the caller holds the root lock). A lost
 * registry (a root with installed apps and no database) is not recreated here — that would hide
 * the loss from doctor: `body` then gets `undefined`, and the entry is not written.
 */
export async function withRootRegistry<T>(
  ctx: OpContext,
  body: (registry: Registry | undefined) => Promise<T>,
): Promise<T> {
  const url = registryUrlForFile(ctx.paths.registryDb);
  if (await detectMissingRegistry(ctx.paths, url)) {
    ctx.reporter.emit({
      kind: "warning",
      code: "registry.missing",
      message: "cannot write the audit entry: the registry is missing (run `nx pkg doctor`)",
    });
    return await body(undefined);
  }
  const registry = await openRegistry(url);
  try {
    return await body(registry);
  } finally {
    registry.close();
  }
}

/** Appends the entry; the change it records is made, so a failure is the warning `registry.failed`. */
export async function recordChange(
  ctx: OpContext,
  registry: Registry | undefined,
  entry: Omit<AuditEntry, "time">,
): Promise<void> {
  if (!registry) return;
  try {
    await registry.audit({ ...entry, time: ctx.now.toISOString() });
  } catch (e) {
    const message = `cannot write the audit entry: ${e instanceof Error ? e.message : String(e)}`;
    ctx.reporter.emit({ kind: "warning", code: "registry.failed", message });
  }
}

/** Opens the registry, appends one entry, closes it (a failure to open is a warning too). */
export async function auditChange(ctx: OpContext, entry: Omit<AuditEntry, "time">): Promise<void> {
  try {
    await withRootRegistry(ctx, (r) => recordChange(ctx, r, entry));
  } catch (e) {
    const message = `cannot write the audit entry: ${e instanceof Error ? e.message : String(e)}`;
    ctx.reporter.emit({ kind: "warning", code: "registry.failed", message });
  }
}
