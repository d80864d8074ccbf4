/** The gate's fold over ledger facts: candidates, time, device, and the order of status changes. */
import assert from "node:assert/strict";
import {
  changeRecord,
  DEVICE_FP,
  OTHER_DEVICE_FP,
  OTHER_STORE_SEED,
  T0,
  tokenRecord,
  YEAR,
} from "./_helpers_test.ts";
import {
  CLOCK_SKEW_SECONDS,
  denialError,
  evaluate,
  type GateQuery,
  latestStatusChange,
  type LedgerFacts,
  unixSeconds,
} from "./mod.ts";

const Q: GateQuery = { appId: "ledger", sku: "ledger.pro", deviceFp: DEVICE_FP, now: T0 + 1000 };
const PRO = tokenRecord();
const codeOf = (facts: LedgerFacts, q: Partial<GateQuery> = {}) => {
  const d = evaluate(facts, { ...Q, ...q });
  return d.active ? "active" : d.code;
};
const facts = (tokens = [PRO], changes: LedgerFacts["changes"] = []) => ({ tokens, changes });

Deno.test("evaluate() is active for a valid token and names it", () => {
  const d = evaluate(facts(), Q);
  assert.ok(d.active);
  assert.equal(d.token.tokenId, PRO.tokenId);
});

Deno.test("evaluate() says missing, or wrong_app when only another app or sku is held", () => {
  assert.equal(codeOf(facts([])), "entitlement.missing");
  assert.equal(codeOf(facts(), { appId: "notes", sku: "notes.pro" }), "entitlement.missing");
  assert.equal(codeOf(facts(), { sku: "ledger.team" }), "entitlement.wrong_app");
  assert.equal(codeOf(facts([tokenRecord({ appId: "reader" })])), "entitlement.wrong_app");
});

Deno.test("evaluate() applies nbf − CLOCK_SKEW ≤ now < exp, for trial tokens too", () => {
  const trial = tokenRecord({ type: "trial", sku: "ledger.trial", exp: T0 + 14 * 86_400 });
  const q = { sku: "ledger.trial" };
  assert.equal(codeOf(facts([trial]), { ...q, now: T0 }), "active");
  assert.equal(codeOf(facts([trial]), { ...q, now: T0 + 14 * 86_400 - 1 }), "active");
  assert.equal(codeOf(facts([trial]), { ...q, now: T0 + 14 * 86_400 }), "entitlement.expired");
  // A device clock behind the store's by up to CLOCK_SKEW_SECONDS still takes a fresh token.
  assert.equal(codeOf(facts(), { now: T0 - CLOCK_SKEW_SECONDS }), "active");
  assert.equal(codeOf(facts(), { now: T0 - CLOCK_SKEW_SECONDS - 1 }), "entitlement.not_yet_valid");
});

Deno.test("evaluate() refuses a token of the ledger held for another device", () => {
  assert.equal(
    codeOf(facts([tokenRecord({ deviceFp: OTHER_DEVICE_FP })])),
    "entitlement.wrong_device",
  );
});

Deno.test("evaluate() follows the latest status change by (issuedAt, serial)", async (t) => {
  const revoke = changeRecord(PRO.tokenId, { issuedAt: T0 + 100, serial: 1 });
  const restore = changeRecord(PRO.tokenId, { action: "restore", issuedAt: T0 + 200, serial: 2 });
  await t.step("a revocation makes it revoked, with the change", () => {
    const d = evaluate(facts([PRO], [revoke]), Q);
    assert.ok(!d.active && d.code === "entitlement.revoked");
    assert.equal(d.change?.change.reason, "refund");
  });
  await t.step("a newer restore makes it active again", () => {
    assert.equal(codeOf(facts([PRO], [revoke, restore])), "active");
  });
  await t.step("a replayed older restore after a newer revocation stays revoked", () => {
    const newer = changeRecord(PRO.tokenId, { issuedAt: T0 + 300, serial: 3 });
    assert.equal(codeOf(facts([PRO], [revoke, restore, newer, restore])), "entitlement.revoked");
  });
  await t.step("the same issuedAt is ordered by serial", () => {
    const late = changeRecord(PRO.tokenId, { action: "restore", issuedAt: T0 + 100, serial: 2 });
    assert.equal(codeOf(facts([PRO], [late, revoke])), "active");
  });
  await t.step("equal (issuedAt, serial) with different content: revoke wins, in any order", () => {
    const tie = changeRecord(PRO.tokenId, { action: "restore", issuedAt: T0 + 100, serial: 1 });
    assert.equal(codeOf(facts([PRO], [tie, revoke])), "entitlement.revoked");
    assert.equal(codeOf(facts([PRO], [revoke, tie])), "entitlement.revoked");
  });
});

Deno.test("evaluate(): a revocation imported before its token applies when the token arrives", () => {
  const revoke = changeRecord(PRO.tokenId);
  assert.equal(codeOf(facts([], [revoke])), "entitlement.missing");
  assert.equal(codeOf(facts([PRO], [revoke])), "entitlement.revoked");
});

Deno.test("evaluate(): the same token or change twice changes nothing", () => {
  const revoke = changeRecord(PRO.tokenId);
  assert.deepEqual(evaluate(facts([PRO, PRO]), Q), evaluate(facts([PRO]), Q));
  assert.deepEqual(
    evaluate(facts([PRO, PRO], [revoke, revoke]), Q),
    evaluate(facts([PRO], [revoke]), Q),
  );
});

Deno.test("evaluate(): only the store that issued a token can change its status", () => {
  const otherStore = changeRecord(PRO.tokenId, {}, OTHER_STORE_SEED);
  assert.equal(latestStatusChange(PRO, [otherStore]), undefined);
  assert.equal(codeOf(facts([PRO], [otherStore])), "active");
});

Deno.test("evaluate() is active when any candidate is; else reports the latest-expiring one", () => {
  const renewal = tokenRecord({ iat: T0 + YEAR, nbf: T0 + YEAR, exp: T0 + 2 * YEAR });
  const revokeFirst = changeRecord(PRO.tokenId);
  assert.equal(codeOf(facts([PRO, renewal])), "active");
  assert.equal(codeOf(facts([PRO, renewal], [revokeFirst]), { now: T0 + YEAR }), "active");
  // Both failing: the renewal (latest exp) decides, not the revoked first token.
  for (const tokens of [[PRO, renewal], [renewal, PRO]]) {
    const d = evaluate(facts(tokens, [revokeFirst]), Q);
    assert.ok(!d.active && d.code === "entitlement.not_yet_valid");
    assert.equal(d.token?.tokenId, renewal.tokenId);
  }
});

Deno.test("denialError() carries the code, a hint and the app, sku and token", () => {
  const d = evaluate(facts([PRO], [changeRecord(PRO.tokenId)]), Q);
  assert.ok(!d.active);
  const e = denialError(d, Q, "launch ledger");
  assert.equal(e.code, "entitlement.revoked");
  assert.ok(e.hint);
  assert.deepEqual(
    [e.details?.appId, e.details?.sku, e.details?.tokenId, e.details?.reason],
    ["ledger", "ledger.pro", PRO.tokenId, "refund"],
  );
  const missing = evaluate(facts([]), Q);
  assert.ok(!missing.active);
  assert.equal(denialError(missing, Q, "install ledger").details?.tokenId, undefined);
});

Deno.test("unixSeconds() floors a Date to whole seconds", () => {
  assert.equal(unixSeconds(new Date(1_704_067_200_999)), 1_704_067_200);
});
