/**
 * The selftest's paid-app steps (TASK-0239/0222), through the contract alone so they hold on an
 * agent's root as on a local one. The selftest plays the dev store (docs/licensing.md): it signs
 * tokens and status changes with the store's key from the fixtures folder for the root's own
 * device. `SELFTEST: pkg paid entitlement ok` follows proof that the gate denies the paid fixture
 * without an entitlement (the marker seen), allows it after a purchase, that the app launches,
 * that a refund makes launch refuse and a restore makes it launch again. It ends with the token
 * revoked: the root is entitled to nothing it was not before.
 */
import { Buffer } from "node:buffer";
import { join } from "node:path";
import type { CallContext, Pkgr, ProgressEvent } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import {
  decodeRecord,
  DEV_STORE,
  type EntitlementRecord,
  issueEntitlement,
  issueStatusChange,
  LICENSING_AUDIENCE,
  RECORD_VERSION,
} from "../entitlement/mod.ts";
import { decodeSecretKey } from "../trust/mod.ts";
import type { Fixture } from "./fixtures.ts";
import { checkFailed } from "./probe.ts";

export const PAID_SKU = "ledger.pro";
const DENY = `pkgr: deny entitlement app=ledger sku=${PAID_SKU}`;

/**
 * Why the paid steps cannot run on this root, or the code the gate denies the paid fixture with
 * now (`entitlement.missing`, or e.g. `entitlement.revoked` after an earlier run).
 */
export async function paidReadiness(
  pkgr: Pkgr,
  call: CallContext,
  ledger: Fixture,
): Promise<{ unready: string } | { denied: string }> {
  const publisher = (await pkgr.trustList({}, call)).find((p) => p.id === ledger.publisher);
  if (!publisher?.enabled || !publisher.keys.includes(ledger.key)) {
    return {
      unready: `the root does not trust the paid fixture's publisher ${ledger.publisher} ` +
        "(nx pkg trust add fixtures/keys/store.pub)",
    };
  }
  const stores = await pkgr.licensedTrustList({}, call);
  if (!stores.some((s) => s.id === DEV_STORE.keyId)) {
    return {
      unready: `the root does not trust the dev store's key ${DEV_STORE.keyId} ` +
        "(nx licensed trust add fixtures/keys/licensing.pub)",
    };
  }
  const status = await pkgr.licensedStatus({ app: ledger.app, sku: PAID_SKU }, call);
  if (status.active || status.code === undefined) {
    return { unready: `the root holds an entitlement for ${PAID_SKU} already` };
  }
  return { denied: status.code };
}

/** A call whose events are also kept, to check the markers the root reported. */
function watched(call: CallContext) {
  const markers: string[] = [];
  const reporter = {
    emit(e: ProgressEvent) {
      if (e.kind === "marker") markers.push(e.text);
      call.reporter.emit(e);
    },
  };
  return { call: { ...call, reporter }, markers };
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

async function expectCode(what: string, code: string, body: () => Promise<unknown>) {
  try {
    await body();
  } catch (e) {
    if (e instanceof NxError && e.code === code) return;
    throw e;
  }
  throw checkFailed(what, code, "ok");
}

export interface PaidSteps {
  /** The code the gate denies the paid fixture with before the purchase (paidReadiness). */
  denied: string;
  pkgr: Pkgr;
  call: CallContext;
  fixtures: string;
  ledger: Fixture;
  /** The scenario's install (recorded for clean-up) and uninstall (with the checks). */
  install(f: Fixture): Promise<unknown>;
  uninstall(app: string, version: string): Promise<void>;
}

export async function paidEntitlement(o: PaidSteps): Promise<void> {
  const { pkgr, ledger } = o;
  const seed = decodeSecretKey(
    await Deno.readTextFile(join(o.fixtures, DEV_STORE.secretKeyFile)),
  ).seed;
  const bundle = { kind: "path" as const, path: ledger.path };

  const denied = watched(o.call);
  await expectCode(
    "install ledger without a valid entitlement",
    o.denied,
    () => pkgr.install({ bundle }, denied.call),
  );
  if (!denied.markers.includes(DENY)) {
    throw checkFailed("the denial's marker", DENY, denied.markers);
  }
  if (await pkgr.info({ app: ledger.app }, o.call).then(() => true, () => false)) {
    throw checkFailed("the root after the denied install", "ledger not installed", "installed");
  }

  // The purchase: a token for this root's device, signed by the dev store.
  const device = await pkgr.licensedDevice({}, o.call);
  const now = Math.floor(o.call.now.getTime() / 1000);
  const token = issueEntitlement({
    version: RECORD_VERSION,
    appId: ledger.app,
    sku: PAID_SKU,
    type: "full",
    deviceFp: device.fingerprint,
    audience: LICENSING_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 86_400,
    meta: [{ key: "store", value: `${DEV_STORE.name} (selftest)` }],
  }, seed);
  const id = (decodeRecord(token) as EntitlementRecord).tokenId;
  await pkgr.licensedImport({ records: [{ name: "selftest.nxe", data: b64(token) }] }, o.call);
  await o.install(ledger);
  await expectLaunch(pkgr, o.call, ledger);

  // A refund: the store revokes the token; then it restores it.
  const change = (action: "revoke" | "restore", serial: number) =>
    issueStatusChange({
      version: RECORD_VERSION,
      tokenId: id,
      action,
      issuedAt: now,
      serial,
      appId: ledger.app,
      sku: PAID_SKU,
      reason: `selftest ${action}`,
    }, seed);
  const serial = o.call.now.getTime() * 16;
  await pkgr.licensedImport({
    records: [{ name: "refund.nxr", data: b64(change("revoke", serial)) }],
  }, o.call);
  await expectCode(
    "launch ledger after the refund",
    "app.inactive",
    () => pkgr.launch({ app: ledger.app, check: true }, o.call),
  );
  const listed = (await pkgr.list({}, o.call)).find((a) => a.id === ledger.app);
  if (listed?.state !== "inactive" || listed.inactiveReason !== "entitlement.revoked") {
    throw checkFailed(
      "ledger in the list after the refund",
      "inactive (entitlement.revoked)",
      listed,
    );
  }
  await pkgr.licensedImport({
    records: [{ name: "restore.nxr", data: b64(change("restore", serial + 1)) }],
  }, o.call);
  await expectLaunch(pkgr, o.call, ledger);
  await o.uninstall(ledger.app, ledger.version);
  // The root held no entitlement for the sku before: its token is revoked again, so the root is
  // left entitled to nothing it was not (and a later selftest can prove the denial again).
  await pkgr.licensedImport({
    records: [{ name: "refund.nxr", data: b64(change("revoke", serial + 2)) }],
  }, o.call);
}

/** The app's program runs and says hello (its output comes back: capture). */
export async function expectLaunch(pkgr: Pkgr, call: CallContext, f: Fixture): Promise<void> {
  const arg = "selftest";
  const run = await pkgr.launch({ app: f.app, args: [arg], capture: true }, call);
  const hello = `${f.app} ${f.version}: hello ${arg}\n`;
  if (!run.launched || run.exitCode !== 0 || run.stdout !== hello) {
    throw checkFailed(`the launch of ${f.app}`, { exitCode: 0, stdout: hello }, run);
  }
}
