import assert from "node:assert/strict";
import { join } from "node:path";
import { probeRegistry } from "./_open.ts";
import { openRegistry } from "./registry.ts";
import { appRecord, dbUrl, versionRecord, withTempDir } from "./_testing.ts";

Deno.test("probeRegistry() tells absent, schema-less, app-less and present apart without creating", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("absent: nothing is created", async () => {
      assert.equal(await probeRegistry(dbUrl(dir, "none.db")), "absent");
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    });
    await t.step("a zero-length file holds no schema", async () => {
      await Deno.writeFile(join(dir, "empty.db"), new Uint8Array());
      assert.equal(await probeRegistry(dbUrl(dir, "empty.db")), "no-schema");
      assert.equal((await Deno.stat(join(dir, "empty.db"))).size, 0);
    });
    await t.step("the schema but no app", async () => {
      (await openRegistry(dbUrl(dir, "bare.db"))).close();
      assert.equal(await probeRegistry(dbUrl(dir, "bare.db")), "no-apps");
    });
    await t.step("an app", async () => {
      const r = await openRegistry(dbUrl(dir, "full.db"));
      await r.register(appRecord("notes", [versionRecord("notes", "1.0.0")]));
      r.close();
      assert.equal(await probeRegistry(dbUrl(dir, "full.db")), "present");
    });
    await t.step("not a database: left to the regular open (present)", async () => {
      await Deno.writeTextFile(join(dir, "junk.db"), "not sqlite at all, just text".repeat(20));
      assert.equal(await probeRegistry(dbUrl(dir, "junk.db")), "present");
    });
    await t.step("in-memory and remote URLs are not probed", async () => {
      assert.equal(await probeRegistry(":memory:"), "present");
      assert.equal(await probeRegistry("libsql://example.invalid"), "present");
    });
  });
});
