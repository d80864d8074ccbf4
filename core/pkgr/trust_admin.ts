/**
 * `nx pkg trust add|remove|list` and `nx pkg policy show|set`: the root's trust. The readers need
 * an existing root (`root.not_found`); `trust add` is one of the commands that create one. Every
 * change is recorded in the audit log (admin_audit.ts, loaded only then); a change that lowers
 * what the root checks is reported as the warning `policy.weakened`.
 */
import { NxError } from "../errors.ts";
import type { TrustAddRequest } from "../api/mod.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import {
  createRoot,
  loadTrust,
  removeCreatedRoot,
  requireRoot,
  type RootPaths,
  savePolicy,
  savePublishers,
  withRootLock,
} from "../store/mod.ts";
import {
  decodePublicKey,
  fingerprint,
  type Policy,
  type Publisher,
  SUPPORTED_ALGS,
  withoutPublisher,
  withPublisher,
} from "../trust/mod.ts";
import type { OpContext } from "./context.ts";
import { policyChange, policyValue } from "./policy_values.ts";

export { POLICY_KEYS } from "./policy_values.ts";

const audit = () => import("./admin_audit.ts");

/** The audit entry of a root that a command created (`init`, or the first `trust add`). */
export function rootCreated(paths: RootPaths) {
  return { op: "init", result: "ok", details: { root: paths.root } } as const;
}

function warn(ctx: OpContext, code: string, message: string): void {
  ctx.reporter.emit({ kind: "warning", code, message });
}

/**
 * Trusts the request's public key (its text: the caller read the file, see keys.ts). Creates the
 * root when it is missing (and removes it again when the add fails). A key that is already
 * trusted changes nothing: the same request is a no-op (warning `policy.already_trusted`), one
 * that would rename its publisher is refused with that code; `--disabled` (or its absence)
 * disables (or enables again, warning `policy.weakened`) the publisher, as it always did.
 */
export async function trustAdd(ctx: OpContext, req: TrustAddRequest): Promise<Publisher> {
  const key = decodePublicKey(req.publicKey);
  const created = await createRoot(ctx.paths);
  try {
    return await withRootLock(ctx.paths, "trust add", () => addKey(ctx, req, key, !!created));
  } catch (e) {
    if (created) await removeCreatedRoot(ctx.paths, created).catch(() => {});
    throw e;
  }
}

function describe(p: Publisher): string {
  return `${p.id}${p.name ? ` (${p.name})` : ""}${p.enabled ? "" : ", disabled"}`;
}

async function addKey(
  ctx: OpContext,
  req: TrustAddRequest,
  key: Uint8Array,
  createdRoot: boolean,
): Promise<Publisher> {
  const { publishers } = await loadTrust(ctx.paths);
  const keyHex = toHex(key);
  const keyId = fingerprint(key);
  const id = req.publisher ?? keyId;
  const existing = publishers.publishers.find((p) => p.id === id);
  if (req.publisher && !existing) {
    throw new NxError(
      "policy.publisher_unknown",
      `cannot add key: publisher ${id} is not trusted`,
      {
        details: { publisher: id, keyId },
        hint: "trust the publisher's own key first (`nx pkg trust add <its key>.pub`), " +
          "then add this one with --publisher",
      },
    );
  }
  // A key another publisher holds: withPublisher refuses it (policy.duplicate_publisher).
  const entry: Publisher = {
    id,
    ...(req.name ?? existing?.name ? { name: req.name ?? existing?.name } : {}),
    enabled: req.enabled ?? existing?.enabled ?? true,
    allowed_algs: existing?.allowed_algs ?? [...SUPPORTED_ALGS],
    keys: [...new Set([...(existing?.keys ?? []), keyHex])].sort(),
  };
  if (existing && entry.name !== existing.name) {
    throw new NxError(
      "policy.already_trusted",
      `cannot add key ${keyId}: publisher ${describe(existing)} is already trusted, ` +
        `and trust add does not rename it to \`${entry.name}\``,
      {
        details: { publisher: existing.id, keyId, name: existing.name ?? null },
        hint:
          `add it without --name, or remove the publisher (\`nx pkg trust remove ${existing.id}\`) ` +
          "and add it again with the new name",
      },
    );
  }
  const toggled = existing !== undefined && entry.enabled !== existing.enabled;
  if (existing?.keys.includes(keyHex) && !toggled) {
    warn(
      ctx,
      "policy.already_trusted",
      `key ${keyId} is already trusted as publisher ${describe(existing)}: nothing changed`,
    );
    return existing;
  }
  await savePublishers(ctx.paths, withPublisher(publishers, entry));
  if (toggled && entry.enabled) {
    warn(ctx, "policy.weakened", `publisher ${id} is enabled again: it can sign bundles here`);
  }
  const { withRootRegistry, recordChange } = await audit();
  await withRootRegistry(ctx, async (registry) => {
    if (createdRoot) await recordChange(ctx, registry, rootCreated(ctx.paths));
    await recordChange(ctx, registry, {
      op: "trust-add",
      result: "ok",
      details: {
        publisher: id,
        keyId,
        ...(entry.name ? { name: entry.name } : {}),
        enabled: entry.enabled,
        ...(existing && !existing.keys.includes(keyHex) ? { rotation: true } : {}),
        ...(toggled ? { toggled: true } : {}),
      },
    });
  }).catch((e) => warn(ctx, "registry.failed", `cannot write the audit entry: ${e.message}`));
  return entry;
}

export async function trustRemove(ctx: OpContext, id: string): Promise<Publisher> {
  await requireRoot(ctx.paths, `remove publisher ${id}`);
  return await withRootLock(ctx.paths, "trust remove", () => removePublisher(ctx, id));
}

async function removePublisher(ctx: OpContext, id: string): Promise<Publisher> {
  const { publishers } = await loadTrust(ctx.paths);
  const existing = publishers.publishers.find((p) => p.id === id || p.name === id);
  if (!existing) {
    const known = publishers.publishers.map((p) => p.id);
    throw new NxError("policy.publisher_unknown", `cannot remove publisher ${id}: not trusted`, {
      details: { publisher: id },
      hint: known.length > 0
        ? `trusted: ${known.join(", ")} (\`nx pkg trust list\`)`
        : "the root trusts no publisher",
    });
  }
  const { withRootRegistry, recordChange } = await audit();
  return await withRootRegistry(ctx, async (registry) => {
    const apps = registry
      ? (await registry.summaries()).filter((a) => a.publisher === existing.id).map((a) => a.id)
      : [];
    await savePublishers(ctx.paths, withoutPublisher(publishers, existing.id));
    if (apps.length > 0) {
      warn(
        ctx,
        "policy.publisher_in_use",
        `publisher ${existing.id} no longer trusted; its apps stay installed but cannot be ` +
          `installed, upgraded or verified again: ${apps.join(", ")}`,
      );
    }
    await recordChange(ctx, registry, {
      op: "trust-remove",
      result: "ok",
      details: {
        publisher: existing.id,
        ...(existing.name ? { name: existing.name } : {}),
        keys: existing.keys.map((k) => fingerprint(fromHex(k))),
        ...(apps.length > 0 ? { apps } : {}),
      },
    });
    return existing;
  });
}

export async function trustList(paths: RootPaths): Promise<Publisher[]> {
  await requireRoot(paths, "list the trusted publishers");
  return (await loadTrust(paths)).publishers.publishers;
}

export async function policyShow(paths: RootPaths): Promise<Policy> {
  await requireRoot(paths, "show the policy");
  return (await loadTrust(paths)).policy;
}

/**
 * Sets one key. The value is checked first (a bad one is refused with the values the key takes,
 * also on a missing root), then the root must exist: `policy set` creates none.
 */
export async function policySet(ctx: OpContext, key: string, value: string): Promise<Policy> {
  policyValue((await loadTrust(ctx.paths)).policy, key, value);
  await requireRoot(ctx.paths, `set ${key}`);
  return await withRootLock(ctx.paths, "policy set", async () => {
    const { policy } = await loadTrust(ctx.paths);
    const next = policyValue(policy, key, value);
    const change = policyChange(policy, next, key);
    // The file is written either way (it then names every key); only a change is audited.
    await savePolicy(ctx.paths, next);
    if (!change) return next;
    for (const w of change.weakened) warn(ctx, "policy.weakened", w);
    const { auditChange } = await audit();
    await auditChange(ctx, {
      op: "policy-set",
      result: "ok",
      details: {
        key,
        from: change.from,
        to: change.to,
        ...(change.weakened.length > 0 ? { weakened: true } : {}),
      },
    });
    return next;
  });
}
