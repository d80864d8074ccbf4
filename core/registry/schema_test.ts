import assert from "node:assert/strict";
import { createClient } from "@libsql/client/sqlite3";
import {
  MIGRATIONS,
  migrationsFrom,
  REGISTRY_SCHEMA_VERSION,
  REQUIRED_TABLES,
  tablesAt,
} from "./schema.ts";

Deno.test("MIGRATIONS are ordered one step at a time up to REGISTRY_SCHEMA_VERSION", () => {
  MIGRATIONS.forEach((m, i) => assert.equal(m.to, i + 1));
  assert.equal(MIGRATIONS.at(-1)?.to, REGISTRY_SCHEMA_VERSION);
  assert.deepEqual(migrationsFrom(0), MIGRATIONS);
  assert.deepEqual(migrationsFrom(REGISTRY_SCHEMA_VERSION), []);
});

Deno.test("MIGRATIONS create every required table and the value indexes", async () => {
  const client = createClient({ url: ":memory:" });
  try {
    for (const m of MIGRATIONS) await client.batch([...m.statements], "write");
    const rs = await client.execute("SELECT type, name FROM sqlite_schema ORDER BY name");
    const names = rs.rows.map((r) => String(r.name));
    for (const t of REQUIRED_TABLES) assert.ok(names.includes(t), t);
    for (const i of ["abilities_by_value", "capabilities_by_value", "exports_by_value"]) {
      assert.ok(names.includes(i), i);
    }
    assert.ok(names.includes("audit_by_app"));
  } finally {
    client.close();
  }
});

Deno.test("each migration lists exactly the tables it creates; tablesAt() adds them up", async () => {
  const client = createClient({ url: ":memory:" });
  try {
    let seen = new Set<string>();
    for (const m of MIGRATIONS) {
      await client.batch([...m.statements], "write");
      const rs = await client.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite%'",
      );
      const now = new Set(rs.rows.map((r) => String(r.name)));
      assert.deepEqual(
        [...now].filter((t) => !seen.has(t)).sort(),
        [...m.tables].sort(),
        `v${m.to}`,
      );
      assert.deepEqual([...tablesAt(m.to)].sort(), [...now].sort());
      seen = now;
    }
    assert.deepEqual([...REQUIRED_TABLES].sort(), [...seen].sort());
    assert.ok(REQUIRED_TABLES.includes("kept_data"));
  } finally {
    client.close();
  }
});
