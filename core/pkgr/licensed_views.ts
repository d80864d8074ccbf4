/**
 * How the ledger's records are shown (core/api licensing.ts): a token with its state now, a
 * status change with whether it decides its token, an app's entitlement status. No I/O.
 */
import type { EntitlementStatus, StatusChangeView, TokenView } from "../api/mod.ts";
import {
  type EntitlementRecord,
  evaluate,
  type GateDecision,
  latestStatusChange,
  type LedgerFacts,
  type StatusChangeRecord,
  type TokenDenial,
  tokenDenial,
} from "../entitlement/mod.ts";

const TOKEN_STATE: Record<TokenDenial, TokenView["state"]> = {
  "entitlement.revoked": "revoked",
  "entitlement.wrong_device": "wrong_device",
  "entitlement.expired": "expired",
  "entitlement.not_yet_valid": "not_yet_valid",
};

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
export const unixSeconds = (now: Date) => Math.floor(now.getTime() / 1000);

export function tokenView(
  t: EntitlementRecord,
  facts: LedgerFacts,
  deviceFp: string | undefined,
  now: number,
): TokenView {
  const change = latestStatusChange(t, facts.changes);
  const denial = tokenDenial(t, change, deviceFp, now);
  const state = denial === undefined ? "active" : TOKEN_STATE[denial];
  return {
    tokenId: t.tokenId,
    appId: t.token.appId,
    sku: t.token.sku,
    type: t.token.type,
    deviceFp: t.token.deviceFp,
    audience: t.token.audience,
    issuedAt: iso(t.token.iat),
    notBefore: iso(t.token.nbf),
    expires: iso(t.token.exp),
    keyId: t.keyId,
    state,
    ...(state === "revoked" ? { reason: change!.change.reason } : {}),
  };
}

export function changeView(
  c: StatusChangeRecord,
  recordId: string,
  facts: LedgerFacts,
): StatusChangeView {
  const token = facts.tokens.find((t) => t.tokenId === c.change.tokenId);
  return {
    recordId,
    tokenId: c.change.tokenId,
    action: c.change.action,
    issuedAt: iso(c.change.issuedAt),
    serial: c.change.serial,
    appId: c.change.appId,
    sku: c.change.sku,
    reason: c.change.reason,
    keyId: c.keyId,
    applies: token !== undefined && latestStatusChange(token, facts.changes) === c,
  };
}

/** The gate's decision for `appId`'s `sku` over `facts` (no device: nothing can be for it). */
export function decide(
  facts: LedgerFacts,
  appId: string,
  sku: string,
  deviceFp: string | undefined,
  now: number,
): GateDecision {
  return evaluate(deviceFp === undefined ? { tokens: [], changes: [] } : facts, {
    appId,
    sku,
    deviceFp: deviceFp ?? "",
    now,
  });
}

/** An app's entitlement status; `sku` undefined: a free app, always active. */
export function entitlementStatus(
  appId: string,
  sku: string | undefined,
  version: string | undefined,
  facts: LedgerFacts,
  deviceFp: string | undefined,
  now: number,
): EntitlementStatus {
  const base = { appId, ...(version ? { version } : {}) };
  if (sku === undefined) return { ...base, paid: false, active: true };
  const d = decide(facts, appId, sku, deviceFp, now);
  const token = d.token ? { token: tokenView(d.token, facts, deviceFp, now) } : {};
  return d.active
    ? { ...base, sku, paid: true, active: true, ...token }
    : { ...base, sku, paid: true, active: false, code: d.code, ...token };
}
