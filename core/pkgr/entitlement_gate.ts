/**
 * The entitlement gate inside a session: the root's device and ledger facts, and the checks an
 * install, upgrade or launch makes before anything is written or run (docs/licensing.md).
 */
import { NxError } from "../errors.ts";
import { denialError, type LedgerFacts } from "../entitlement/mod.ts";
import { ledgerFacts, loadStoreKeys, readDevice } from "../licensed/mod.ts";
import { marker, type OpContext } from "./context.ts";
import { decide, unixSeconds } from "./licensed_views.ts";
import type { Session } from "./session.ts";

export interface Licensing {
  facts: LedgerFacts;
  /** This root's device fingerprint; undefined before any licensing command made one. */
  device: string | undefined;
  now: number;
}

/**
 * The root's licensing facts, all of them: the gate's `entitlement.wrong_app` is about the
 * tokens of other apps (same sku), which one app's rows would not hold.
 */
export async function licensingOf(s: Session, ctx: OpContext): Promise<Licensing> {
  const device = (await readDevice(ctx.paths))?.fingerprint;
  if (device === undefined) return { facts: NO_FACTS, device, now: unixSeconds(ctx.now) };
  // Only what a store the root trusts now signed counts: removing a store key withdraws its
  // tokens (and its status changes) from the gate; trusting it again brings them back.
  const trusted = new Set((await loadStoreKeys(ctx.paths)).map((k) => k.id));
  const all = await ledgerFacts(s.registry);
  const facts = {
    tokens: all.tokens.filter((t) => trusted.has(t.keyId)),
    changes: all.changes.filter((c) => trusted.has(c.keyId)),
  };
  return { facts, device, now: unixSeconds(ctx.now) };
}

const NO_FACTS: LedgerFacts = { tokens: [], changes: [] };

/** The `entitlement.*` code that makes a paid app inactive now, or undefined when it may run. */
export function inactiveReason(l: Licensing, appId: string, sku: string | undefined) {
  if (sku === undefined) return undefined;
  const d = decide(l.facts, appId, sku, l.device, l.now);
  return d.active ? undefined : d.code;
}

/**
 * An install or upgrade of a bundle with a sku needs a valid entitlement (`l`: the root's facts,
 * {@link licensingOf}, read once per operation): else the marker
 * `pkgr: deny entitlement app=<id> sku=<sku>` and the denial's code, before anything is written.
 */
export function requireEntitlement(
  l: Licensing,
  ctx: OpContext,
  appId: string,
  sku: string,
  action: string,
): void {
  const d = decide(l.facts, appId, sku, l.device, l.now);
  if (d.active) return;
  marker(ctx, `pkgr: deny entitlement app=${appId} sku=${sku}`);
  throw denialError(d, { appId, sku, deviceFp: l.device ?? "", now: l.now }, action);
}

/** An inactive paid app is neither upgraded nor launched: `app.inactive` with the reason. */
export function refuseInactive(
  l: Licensing,
  ctx: OpContext,
  appId: string,
  sku: string | undefined,
  action: string,
): void {
  const reason = inactiveReason(l, appId, sku);
  if (reason === undefined) return;
  marker(ctx, `pkgr: deny entitlement app=${appId} sku=${sku}`);
  throw new NxError("app.inactive", `cannot ${action}: ${appId} is inactive (${reason})`, {
    details: { appId, sku, reason },
    hint: `\`nx licensed status ${appId}\` says why; import a valid entitlement ` +
      `(\`nx licensed import FILE\`, \`nx store buy ${sku}\`) to make it active again`,
  });
}
