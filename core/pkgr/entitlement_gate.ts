/**
 * The entitlement gate inside a session: the root's device and ledger facts, and the checks an
 * install, upgrade or launch makes before anything is written or run (docs/licensing.md).
 */
import { NxError } from "../errors.ts";
import { denialError, type LedgerFacts } from "../entitlement/mod.ts";
import { ledgerFacts, readDevice } from "../licensed/mod.ts";
import { marker, type OpContext } from "./context.ts";
import { decide, unixSeconds } from "./licensed_views.ts";
import type { Session } from "./session.ts";

export interface Licensing {
  facts: LedgerFacts;
  /** This root's device fingerprint; undefined before any licensing command made one. */
  device: string | undefined;
  now: number;
}

/** The root's licensing facts (one app's, or all), read in the session. */
export async function licensingOf(s: Session, ctx: OpContext, appId?: string): Promise<Licensing> {
  const device = (await readDevice(ctx.paths))?.fingerprint;
  const facts = device === undefined
    ? { tokens: [], changes: [] }
    : await ledgerFacts(s.registry, appId);
  return { facts, device, now: unixSeconds(ctx.now) };
}

/** The `entitlement.*` code that makes a paid app inactive now, or undefined when it may run. */
export function inactiveReason(l: Licensing, appId: string, sku: string | undefined) {
  if (sku === undefined) return undefined;
  const d = decide(l.facts, appId, sku, l.device, l.now);
  return d.active ? undefined : d.code;
}

/**
 * An install or upgrade of a bundle with a sku needs a valid entitlement: else the marker
 * `pkgr: deny entitlement app=<id> sku=<sku>` and the denial's code, before anything is written.
 */
export async function requireEntitlement(
  s: Session,
  ctx: OpContext,
  appId: string,
  sku: string,
  action: string,
): Promise<void> {
  const l = await licensingOf(s, ctx, appId);
  const d = decide(l.facts, appId, sku, l.device, l.now);
  if (d.active) return;
  marker(ctx, `pkgr: deny entitlement app=${appId} sku=${sku}`);
  throw denialError(d, { appId, sku, deviceFp: l.device ?? "", now: l.now }, action);
}

/** An inactive paid app is neither upgraded nor launched: `app.inactive` with the reason. */
export async function refuseInactive(
  s: Session,
  ctx: OpContext,
  appId: string,
  sku: string | undefined,
  action: string,
): Promise<void> {
  if (sku === undefined) return;
  const reason = inactiveReason(await licensingOf(s, ctx, appId), appId, sku);
  if (reason === undefined) return;
  marker(ctx, `pkgr: deny entitlement app=${appId} sku=${sku}`);
  throw new NxError("app.inactive", `cannot ${action}: ${appId} is inactive (${reason})`, {
    details: { appId, sku, reason },
    hint: `\`nx licensed status ${appId}\` says why; import a valid entitlement ` +
      `(\`nx licensed import FILE\`, \`nx store buy ${sku}\`) to make it active again`,
  });
}
