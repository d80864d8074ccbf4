import assert from "node:assert/strict";
import { openRegistry } from "./mod.ts";
import type { LedgerChange, LedgerToken } from "./ledger.ts";
import { dbUrl, rejectsWith, withTempDir } from "./_testing.ts";

const token = (id: string, appId = "ledger"): LedgerToken => ({
  tokenId: id.repeat(64).slice(0, 64),
  appId,
  sku: `${appId}.pro`,
  type: "full",
  deviceFp: "d".repeat(32),
  audience: "nx.pkgr",
  iat: 1_700_000_000,
  nbf: 1_700_000_000,
  exp: 1_800_000_000,
  keyId: "k".repeat(32),
  record: new Uint8Array([1, 2, 3, 0, 255]),
  importedAt: "2026-12-02T00:00:00.000Z",
});

const change = (id: string, tokenId: string): LedgerChange => ({
  recordId: id.repeat(64).slice(0, 64),
  tokenId,
  action: "revoke",
  issuedAt: 1_750_000_000,
  serial: 7,
  appId: "ledger",
  sku: "ledger.pro",
  reason: "refund",
  keyId: "k".repeat(32),
  record: new Uint8Array([9, 8, 7]),
  importedAt: "2026-12-02T00:00:01.000Z",
});

Deno.test("the ledger stores each record once and reads it back byte for byte", async () => {
  await withTempDir(async (dir) => {
    const registry = await openRegistry(dbUrl(dir));
    try {
      const a = token("a");
      const first = await registry.ledger.add([a], [change("c", a.tokenId)]);
      assert.deepEqual(first, { tokens: [true], changes: [true] });
      // The same records again (and one new token): only the new one is added.
      const again = await registry.ledger.add([a, token("b", "notes")], [change("c", a.tokenId)]);
      assert.deepEqual(again, { tokens: [false, true], changes: [false] });
      const all = await registry.ledger.read();
      assert.deepEqual(all.tokens.map((t) => t.appId), ["ledger", "notes"]);
      assert.deepEqual(all.tokens[0], a);
      assert.deepEqual(all.changes, [change("c", a.tokenId)]);
      const one = await registry.ledger.read("notes");
      assert.deepEqual([one.tokens.length, one.changes.length], [1, 0]);
    } finally {
      registry.close();
    }
  });
});

Deno.test("a read-only registry reads the ledger and refuses to add to it", async () => {
  await withTempDir(async (dir) => {
    const writer = await openRegistry(dbUrl(dir));
    await writer.ledger.add([token("a")], []);
    writer.close();
    const reader = await openRegistry(dbUrl(dir), { readOnly: true });
    try {
      assert.equal((await reader.ledger.read()).tokens.length, 1);
      await rejectsWith(reader.ledger.add([token("b")], []), "registry.failed");
    } finally {
      reader.close();
    }
  });
});
