import assert from "node:assert/strict";
import { INDEX_FILE } from "../bundle/mod.ts";
import { decodePublicKey, publicKeyFromSeed } from "../trust/mod.ts";
import { DEVICE_FP, ROGUE_SEED, STORE_KEYS, STORE_SEED, T0, throwsCode } from "./_helpers_test.ts";
import {
  type Catalog,
  CATALOG_MAX_BYTES,
  checkBundlePin,
  DEV_STORE,
  entitlementFor,
  findSku,
  formatCatalog,
  issueEntitlement,
  keyIdOfSeed,
  parseCatalog,
  signCatalog,
  verifyRecord,
} from "./mod.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url);
const read = (rel: string) => Deno.readFile(new URL(rel, FIXTURES));
const STORE_KEY = publicKeyFromSeed(STORE_SEED);
const INVALID = "store.catalog_invalid";
const utf8 = new TextEncoder();

const CATALOG: Catalog = {
  version: 1,
  store: "nx-dev-store",
  key: keyIdOfSeed(STORE_SEED),
  skus: [{
    id: "ledger.pro",
    app: "ledger",
    title: "Ledger Pro",
    price: "4.99",
    currency: "EUR",
    type: "full",
    days: 365,
    bundle: "bundles/ledger-1.0.0.nxb",
    bundleIndexSha256: "ab".repeat(32),
  }],
};

/** Text signed by the store key, so only the content can be what is refused. */
function signed(text: string): [Uint8Array, Uint8Array] {
  const bytes = utf8.encode(text);
  return [bytes, signCatalog(bytes, STORE_SEED)];
}

Deno.test("parseCatalog() reads a catalog signed by the trusted store key", () => {
  assert.deepEqual(parseCatalog(...signed(formatCatalog(CATALOG)), STORE_KEY), CATALOG);
});

Deno.test("the committed dev store catalog verifies and pins the committed bundles", async () => {
  const key = decodePublicKey(new TextDecoder().decode(await read(DEV_STORE.publicKeyFile)));
  assert.equal(keyIdOfSeed(STORE_SEED), DEV_STORE.keyId);
  assert.deepEqual(key, STORE_KEY);
  const catalog = parseCatalog(
    await read(DEV_STORE.catalogFile),
    await read(DEV_STORE.catalogSigFile),
    key,
  );
  assert.equal(catalog.store, DEV_STORE.name);
  assert.deepEqual(catalog.skus.map((s) => [s.id, s.type, s.days, s.price]), [
    ["ledger.pro", "full", 365, "4.99"],
    ["ledger.trial", "trial", 14, "0.00"],
  ]);
  for (const s of catalog.skus) checkBundlePin(s, await read(`${s.bundle}/${INDEX_FILE}`));
});

Deno.test("parseCatalog() refuses a tampered or wrongly signed catalog", async (t) => {
  const [bytes, sig] = signed(formatCatalog(CATALOG));
  const text = new TextDecoder().decode(bytes);
  const tamper = (from: string, to: string) => utf8.encode(text.replace(from, to));
  const cases: [string, Uint8Array, Uint8Array, Uint8Array?][] = [
    ["a tampered price", tamper('"4.99"', '"0.99"'), sig],
    ["a tampered bundle reference", tamper("ledger-1.0.0.nxb", "notes-1.0.0.nxb"), sig],
    ["a tampered bundle pin", tamper("abab", "abac"), sig],
    ["a signature by another key", bytes, signCatalog(bytes, ROGUE_SEED)],
    ["a truncated signature", bytes, sig.subarray(0, 63)],
    ["no signature", bytes, new Uint8Array(0)],
    ["a key the root does not trust", bytes, sig, publicKeyFromSeed(ROGUE_SEED)],
  ];
  for (const [name, toml, s, key] of cases) {
    await t.step(
      name,
      () => void throwsCode(() => parseCatalog(toml, s, key ?? STORE_KEY), INVALID),
    );
  }
});

Deno.test("parseCatalog() refuses signed catalogs that break the format", async (t) => {
  const good = formatCatalog(CATALOG);
  const cases: [string, string][] = [
    ["not TOML", "version = = 1\n"],
    ["an unknown field", good + "discount = true\n"],
    ["a missing field", good.replace(/title = .*\n/, "")],
    ["version 2", good.replace("version = 1", "version = 2")],
    ["a price with one decimal", good.replace('"4.99"', '"4.9"')],
    ["a negative price", good.replace('"4.99"', '"-4.99"')],
    ["a lowercase currency", good.replace('"EUR"', '"eur"')],
    ["an unknown token type", good.replace('"full"', '"lifetime"')],
    ["zero days", good.replace("days = 365", "days = 0")],
    ["a bundle outside the fixtures", good.replace('"bundles/ledger', '"../bundles/ledger')],
    ["an absolute bundle path", good.replace('"bundles/ledger', '"/bundles/ledger')],
    ["a bundle that is not .nxb", good.replace("1.0.0.nxb", "1.0.0.tar")],
    ["a short index digest", good.replace("ab".repeat(32), "ab".repeat(31))],
    ["another signer's key id", good.replace(CATALOG.key, keyIdOfSeed(ROGUE_SEED))],
    ["a sku listed twice", good + good.slice(good.indexOf("\n[[sku]]"))],
    ["no skus", good.slice(0, good.indexOf("\n[[sku]]") + 1)],
  ];
  for (const [name, text] of cases) {
    await t.step(
      name,
      () => void throwsCode(() => parseCatalog(...signed(text), STORE_KEY), INVALID),
    );
  }
  await t.step("bytes that are not UTF-8", () => {
    const bytes = new Uint8Array([...utf8.encode(good), 0xff]);
    throwsCode(() => parseCatalog(bytes, signCatalog(bytes, STORE_SEED), STORE_KEY), INVALID);
  });
  await t.step("an oversized file", () => {
    const [bytes, sig] = signed(good + "#".repeat(CATALOG_MAX_BYTES));
    throwsCode(() => parseCatalog(bytes, sig, STORE_KEY), INVALID);
  });
});

Deno.test("findSku() and checkBundlePin() refuse an unknown sku and another bundle", () => {
  throwsCode(() => findSku(CATALOG, "ledger.team"), "store.unknown_sku");
  const e = throwsCode(
    () => checkBundlePin(findSku(CATALOG, "ledger.pro"), utf8.encode("{}")),
    "store.bundle_mismatch",
  );
  assert.equal(e.details?.expected, "ab".repeat(32));
});

Deno.test("entitlementFor() issues a token for the sku, device and validity in days", () => {
  const fields = entitlementFor(CATALOG, CATALOG.skus[0], DEVICE_FP, T0);
  const r = verifyRecord(issueEntitlement(fields, STORE_SEED), {
    storeKeys: STORE_KEYS,
    deviceFp: DEVICE_FP,
    now: T0,
  });
  assert.ok(r.kind === "entitlement");
  assert.deepEqual(
    [r.token.appId, r.token.sku, r.token.type, r.token.nbf, r.token.exp],
    ["ledger", "ledger.pro", "full", T0, T0 + 365 * 86_400],
  );
});
