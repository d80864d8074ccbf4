/**
 * The entitlement gate in process (the bench's own process, warm JIT, noble's tables built once):
 * the exact call an install makes, and how the gate's pure part and its ledger read grow with
 * the tokens a root holds for the app (1, 10, 1,000).
 */
import { join } from "node:path";
import {
  decodeRecord,
  DEV_STORE,
  type EntitlementRecord,
  evaluate,
} from "../../core/entitlement/mod.ts";
import { importRecords, ledgerFacts } from "../../core/licensed/mod.ts";
import { silentReporter } from "../../core/pkgr/context.ts";
import { licensingOf, requireEntitlement } from "../../core/pkgr/entitlement_gate.ts";
import { withSession } from "../../core/pkgr/session.ts";
import { openRegistry, type Registry, registryUrlForFile } from "../../core/registry/mod.ts";
import { rootPaths } from "../../core/store/root.ts";
import { publicKeyFromSeed } from "../../core/trust/mod.ts";
import { seedFor } from "../../fixtures/catalog.ts";
import { timed } from "./_measure.ts";
import { APP, devStoreToken, ledgerToken, SKU } from "./_licensed_setup.ts";

/** requireEntitlement() for ledger.pro in a read session on `root` (the session is untimed). */
export async function gateInSession(root: string): Promise<number> {
  const ctx = { paths: rootPaths(root), reporter: silentReporter, now: new Date() };
  return await withSession(
    ctx,
    {},
    { mode: "read", op: "launch" },
    (s) =>
      timed(async () =>
        requireEntitlement(await licensingOf(s, ctx), ctx, APP, SKU, `install ${APP}`)
      ),
  );
}

/** A ledger of `count` distinct ledger.pro tokens for `device`, as files and in a registry. */
export interface Ledger {
  count: number;
  files: Uint8Array[];
  registry: Registry;
  query: { appId: string; sku: string; deviceFp: string; now: number };
}

/**
 * Issues `count` tokens (distinct by their meta) and imports them with the real import path
 * (verify each, one transaction) into a fresh registry file under `dir`, opened read-only after.
 */
export async function ledgerOf(dir: string, device: string, count: number): Promise<Ledger> {
  const now = Math.floor(Date.now() / 1000);
  const files = Array.from(
    { length: count },
    (_, i) => devStoreToken(ledgerToken(device, now, ` #${i}`)),
  );
  const url = registryUrlForFile(join(dir, `ledger-${count}.db`));
  const writer = await openRegistry(url);
  try {
    const storeKeys = new Map([[DEV_STORE.keyId, publicKeyFromSeed(seedFor("licensing"))]]);
    await importRecords(writer, files, { storeKeys, deviceFp: device }, new Date());
  } finally {
    writer.close();
  }
  const registry = await openRegistry(url, { readOnly: true });
  return { count, files, registry, query: { appId: APP, sku: SKU, deviceFp: device, now } };
}

function expectActive(active: boolean, what: string) {
  if (!active) throw new Error(`cannot time ${what}: the gate denies`);
}

/** The gate's pure part over the files: decodeRecord() of each, then evaluate(). */
export function decodeAndEvaluate(l: Ledger): Promise<number> {
  return timed(() => {
    const tokens = l.files.map((f) => decodeRecord(f) as EntitlementRecord);
    expectActive(evaluate({ tokens, changes: [] }, l.query).active, "decode + evaluate");
  });
}

/** What licensingOf() + decide() do past the device: ledgerFacts() (read + decode), evaluate(). */
export function readDecodeEvaluate(l: Ledger): Promise<number> {
  return timed(async () => {
    const facts = await ledgerFacts(l.registry, APP);
    if (facts.tokens.length !== l.count) {
      throw new Error(`cannot time the ledger read: ${facts.tokens.length} of ${l.count} tokens`);
    }
    expectActive(evaluate(facts, l.query).active, "read + decode + evaluate");
  });
}
