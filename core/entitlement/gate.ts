/**
 * The entitlement gate: a pure fold over a ledger's facts (tokens and status changes, each
 * verified when it was imported) that says whether an app's sku may be installed or run now.
 * The rules (docs/licensing.md#the-gate):
 *
 * - Candidates are the tokens for the same appId and sku. None, but a token for the same app or
 *   the same sku: `entitlement.wrong_app`; nothing at all: `entitlement.missing`.
 * - A token's status is its latest status change by (issuedAt, serial) among the changes for its
 *   token id signed by the key that signed the token; at equal keys a revoke wins. So a replayed
 *   older restore cannot undo a newer revoke, and a change that arrived before its token applies
 *   once the token is there. Importing a fact twice changes nothing.
 * - Active when some candidate is not revoked, is for this device and nbf − CLOCK_SKEW ≤ now < exp.
 *   Else the code of the candidate with the latest exp: revoked, wrong device, expired, not yet
 *   valid.
 */

import { type ErrorCode, NxError } from "../errors.ts";
import type { EntitlementRecord, StatusChangeRecord } from "./record.ts";
import { shortTokenId } from "./sign.ts";

export interface LedgerFacts {
  readonly tokens: readonly EntitlementRecord[];
  readonly changes: readonly StatusChangeRecord[];
}

export interface GateQuery {
  appId: string;
  sku: string;
  /** 32 hex: this root's device fingerprint. */
  deviceFp: string;
  /** Unix seconds: the operation's reference time. */
  now: number;
}

export type DenialCode = Extract<
  ErrorCode,
  | "entitlement.missing"
  | "entitlement.wrong_app"
  | "entitlement.revoked"
  | "entitlement.wrong_device"
  | "entitlement.expired"
  | "entitlement.not_yet_valid"
>;

/** The codes of a token that is there but not active. */
export type TokenDenial = Exclude<DenialCode, "entitlement.missing" | "entitlement.wrong_app">;

export type GateDecision =
  | { active: true; token: EntitlementRecord }
  | {
    active: false;
    code: DenialCode;
    /** The candidate the code is about (absent for missing / wrong_app). */
    token?: EntitlementRecord;
    /** The revoking change, for `entitlement.revoked`. */
    change?: StatusChangeRecord;
  };

/**
 * How far (seconds) this device's clock may lag the issuer's before a token that has just been
 * issued (nbf = now at the store) is refused as not yet valid: the store and the device read two
 * clocks, and a guest's clock set from a 1 s RTC at boot runs behind the host's. Only nbf gets
 * it: a device clock running ahead costs a token a few seconds at the end of its term, nothing
 * more, so exp stays exact. Five minutes, like Kerberos's default skew (RFC 7519 §4.1.5 allows
 * "a few minutes").
 */
export const CLOCK_SKEW_SECONDS = 300;

/** The change that decides `token`'s status, or undefined when none applies. */
export function latestStatusChange(
  token: EntitlementRecord,
  changes: readonly StatusChangeRecord[],
): StatusChangeRecord | undefined {
  let latest: StatusChangeRecord | undefined;
  for (const c of changes) {
    // Only the store that issued a token may change its status.
    if (c.change.tokenId !== token.tokenId || c.keyId !== token.keyId) continue;
    if (latest === undefined || later(c, latest)) latest = c;
  }
  return latest;
}

/** Whether `a` is ordered after `b`: (issuedAt, serial), then revoke before restore. */
function later(a: StatusChangeRecord, b: StatusChangeRecord): boolean {
  const x = a.change;
  const y = b.change;
  if (x.issuedAt !== y.issuedAt) return x.issuedAt > y.issuedAt;
  if (x.serial !== y.serial) return x.serial > y.serial;
  return x.action === "revoke" && y.action === "restore";
}

/** The gate's decision for `query` over `facts`. */
export function evaluate(facts: LedgerFacts, query: GateQuery): GateDecision {
  const candidates = facts.tokens
    .filter((t) => t.token.appId === query.appId && t.token.sku === query.sku)
    .sort((a, b) => b.token.exp - a.token.exp || (a.tokenId < b.tokenId ? -1 : 1));
  if (candidates.length === 0) {
    const near = facts.tokens.some((t) =>
      t.token.appId === query.appId || t.token.sku === query.sku
    );
    return { active: false, code: near ? "entitlement.wrong_app" : "entitlement.missing" };
  }
  const verdicts = candidates.map((token) => {
    const change = latestStatusChange(token, facts.changes);
    return { token, change, code: tokenDenial(token, change, query.deviceFp, query.now) };
  });
  const active = verdicts.find((v) => v.code === undefined);
  if (active !== undefined) return { active: true, token: active.token };
  const best = verdicts[0];
  const code = best.code as DenialCode;
  return code === "entitlement.revoked"
    ? { active: false, code, token: best.token, change: best.change }
    : { active: false, code, token: best.token };
}

/** Why token `t`, whose status `change` decides, is not active on `deviceFp` at `now`. */
export function tokenDenial(
  t: EntitlementRecord,
  change: StatusChangeRecord | undefined,
  deviceFp: string | undefined,
  now: number,
): TokenDenial | undefined {
  if (change?.change.action === "revoke") return "entitlement.revoked";
  if (t.token.deviceFp !== deviceFp) return "entitlement.wrong_device";
  if (now >= t.token.exp) return "entitlement.expired";
  if (now < t.token.nbf - CLOCK_SKEW_SECONDS) return "entitlement.not_yet_valid";
  return undefined;
}

const BUY = "`nx store buy <sku>` or `nx licensed import FILE`";

const DENIAL_TEXT: Record<DenialCode, [reason: string, hint: string]> = {
  "entitlement.missing": ["no entitlement for this app", `buy or import a token: ${BUY}`],
  "entitlement.wrong_app": [
    "the entitlements held are for another app or sku",
    `buy or import a token for this app and sku: ${BUY}`,
  ],
  "entitlement.revoked": [
    "the entitlement was revoked",
    "import the store's restore (`nx licensed restore FILE`) or a new token: " + BUY,
  ],
  "entitlement.wrong_device": [
    "the entitlement was issued for another device",
    `buy or import a token for this device: ${BUY}`,
  ],
  "entitlement.expired": ["the entitlement has expired", `renew it: ${BUY}`],
  "entitlement.not_yet_valid": [
    "the entitlement is not valid yet",
    "wait until its start time (`nx licensed status <app>` shows it) or import another token",
  ],
};

/** The NxError for a denial, e.g. `denialError(d, q, "install ledger")`. */
export function denialError(
  decision: Extract<GateDecision, { active: false }>,
  query: GateQuery,
  action: string,
): NxError {
  const [reason, generic] = DENIAL_TEXT[decision.code];
  const hint = generic.replaceAll("<sku>", query.sku).replaceAll("<app>", query.appId);
  const t = decision.token;
  const details: Record<string, unknown> = { appId: query.appId, sku: query.sku };
  if (t !== undefined) {
    Object.assign(details, {
      tokenId: t.tokenId,
      token: shortTokenId(t.tokenId),
      nbf: t.token.nbf,
      exp: t.token.exp,
    });
  }
  if (decision.change !== undefined) details.reason = decision.change.change.reason;
  return new NxError(decision.code, `cannot ${action}: ${reason}`, { hint, details });
}

/** A reference time as the Unix seconds the records use. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
