import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "@libsql/client/sqlite3";
import { openRegistry, type Registry, REGISTRY_SCHEMA_VERSION, registryUrlForFile } from "./mod.ts";
import type { AppRecord, AuditEntry, RegistryQuery } from "./types.ts";
import { appRecord, dbUrl, rejectsWith, versionRecord, withTempDir } from "./_testing.ts";
import { MIGRATIONS, setVersionStatement } from "./schema.ts";
import { processActor } from "./_actor.ts";
import { NxError } from "../errors.ts";

async function withRegistry(fn: (r: Registry, url: string) => Promise<void>): Promise<void> {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    const registry = await openRegistry(url);
    try {
      await fn(registry, url);
    } finally {
      registry.close();
    }
  });
}

const FULL: AppRecord = appRecord("com.example.notes", [
  versionRecord("com.example.notes", "2.0.0", {
    abilities: ["notes.MAIN", "notes.SHARE"],
    capabilities: ["nexus.permission.NET"],
    exports: [{ ability: "notes.SHARE", permission: "app.notes.SHARE" }],
  }),
  versionRecord("com.example.notes", "1.0.0", { abilities: ["notes.MAIN", "notes.OLD"] }),
], {
  sku: "notes-pro",
  lastDiff: {
    from: "1.0.0",
    to: "2.0.0",
    added: ["nexus.permission.NET"],
    removed: [],
    exportsAdded: ["app.notes.SHARE"],
    exportsRemoved: [],
  },
});

Deno.test("register() and get() round-trip a record", async (t) => {
  const minimal = appRecord("com.example.min", [versionRecord("com.example.min", "1.0.0")]);
  for (const [name, record] of [["full", FULL], ["minimal", minimal]] as const) {
    await t.step(name, () =>
      withRegistry(async (r) => {
        await r.register(record);
        assert.deepEqual(await r.get(record.id), record);
        assert.equal(await r.get("com.example.absent"), undefined);
      }));
  }
});

Deno.test("register() replaces everything the app held", async () => {
  const replaced = appRecord(FULL.id, [versionRecord(FULL.id, "3.0.0")], { state: "inactive" });
  let freshDigest = "";
  await withRegistry(async (r) => {
    await r.register(replaced);
    freshDigest = await r.appTablesDigest();
  });
  await withRegistry(async (r) => {
    await r.register(FULL);
    await r.register(replaced);
    assert.deepEqual(await r.get(FULL.id), replaced);
    assert.deepEqual(await r.query({ ability: "notes.SHARE" }), []);
    assert.deepEqual(await r.query({ export: "app.notes.SHARE" }), []);
    // no row of the old versions is left behind in any app table
    assert.equal(await r.appTablesDigest(), freshDigest);
  });
});

Deno.test("register() refuses a record whose current version is not retained", async () => {
  await withRegistry(async (r) => {
    const bad = { ...FULL, version: "9.9.9" };
    await rejectsWith(r.register(bad), "internal.unexpected");
    const twice = { ...FULL, versions: [FULL.versions[0], FULL.versions[0]] };
    await rejectsWith(r.register(twice), "internal.unexpected");
    assert.deepEqual(await r.list(), []);
  });
});

Deno.test("unregister() removes the app and is a no-op when absent", async () => {
  await withRegistry(async (r) => {
    const empty = await r.appTablesDigest();
    const other = appRecord("com.example.other", [versionRecord("com.example.other", "1.0.0")]);
    await r.register(other);
    const withOther = await r.appTablesDigest();
    await r.register(FULL);
    await r.audit({ time: "t", op: "install", appId: FULL.id, result: "ok" });
    await r.unregister(FULL.id);
    assert.equal(await r.get(FULL.id), undefined);
    assert.deepEqual(await r.list(), [other]);
    assert.equal(await r.appTablesDigest(), withOther);
    assert.equal((await r.history(FULL.id)).length, 1, "the audit log is kept");
    await r.unregister(FULL.id);
    await r.unregister(other.id);
    assert.equal(await r.appTablesDigest(), empty);
  });
});

Deno.test("query() matches only current versions of active and inactive apps, sorted", async (t) => {
  await withRegistry(async (r) => {
    const v = (id: string, version: string, abilities: string[], caps: string[] = []) =>
      versionRecord(id, version, {
        abilities,
        capabilities: caps,
        exports: abilities.map((a) => ({ ability: a, permission: `app.${id}.${a}` })),
      });
    // registered out of order, to check the sort
    await r.register(appRecord("zeta", [v("zeta", "1.0.0", ["VIEW"], ["NET"])]));
    await r.register(
      appRecord("alpha", [v("alpha", "1.0.0", ["VIEW"], ["NET"])], { state: "inactive" }),
    );
    await r.register(appRecord("old", [v("old", "2.0.0", ["EDIT"]), v("old", "1.0.0", ["VIEW"])]));
    await r.register(
      appRecord("pend", [v("pend", "1.0.0", ["VIEW"], ["NET"])], { state: "pending" }),
    );
    const hit = (appId: string, state: "active" | "inactive", match: string) => ({
      appId,
      version: "1.0.0",
      state,
      match,
      launchable: state === "active",
    });
    const table: [RegistryQuery, unknown[]][] = [
      [{ ability: "VIEW" }, [hit("alpha", "inactive", "VIEW"), hit("zeta", "active", "VIEW")]],
      [{ ability: "EDIT" }, [{
        appId: "old",
        version: "2.0.0",
        state: "active",
        match: "EDIT",
        launchable: true,
      }]],
      [{ ability: "VIEWX" }, []],
      [{ capability: "NET" }, [hit("alpha", "inactive", "NET"), hit("zeta", "active", "NET")]],
      [{ capability: "VIEW" }, []],
      [{ export: "app.zeta.VIEW" }, [hit("zeta", "active", "app.zeta.VIEW")]],
      [{ export: "app.old.VIEW" }, []],
      [{ export: "VIEW" }, []],
    ];
    for (const [q, expected] of table) {
      await t.step(JSON.stringify(q), async () => {
        assert.deepEqual(await r.query(q), expected);
      });
    }
  });
});

Deno.test("query() reports an app once when two abilities export one permission", async () => {
  await withRegistry(async (r) => {
    await r.register(appRecord("dup", [
      versionRecord("dup", "1.0.0", {
        abilities: ["A", "B", "A"],
        exports: [{ ability: "A", permission: "app.dup.X" }, {
          ability: "B",
          permission: "app.dup.X",
        }],
      }),
    ]));
    assert.equal((await r.query({ export: "app.dup.X" })).length, 1);
    assert.equal((await r.query({ ability: "A" })).length, 1);
  });
});

Deno.test("setState() changes the state and fails for an absent app", async () => {
  await withRegistry(async (r) => {
    await r.register(FULL);
    await r.setState(FULL.id, "inactive");
    assert.deepEqual(await r.get(FULL.id), { ...FULL, state: "inactive" });
    assert.deepEqual((await r.query({ ability: "notes.MAIN" }))[0].state, "inactive");
    await r.setState(FULL.id, "pending");
    assert.deepEqual(await r.query({ ability: "notes.MAIN" }), []);
    await rejectsWith(r.setState("com.example.absent", "active"), "app.not_installed");
  });
});

Deno.test("audit() appends and history() reads oldest first, per app, last limit", async (t) => {
  await withRegistry(async (r) => {
    const entries: AuditEntry[] = [
      { time: "t1", op: "install", appId: "a", toVersion: "1.0.0", result: "ok" },
      { time: "t2", op: "install", appId: "b", toVersion: "1.0.0", result: "ok" },
      {
        time: "t3",
        op: "upgrade",
        appId: "a",
        fromVersion: "1.0.0",
        toVersion: "2.0.0",
        result: "migration.failed",
        details: { step: "migrate", exitCode: 3 },
      },
      { time: "t4", op: "uninstall", appId: "a", fromVersion: "1.0.0", result: "ok" },
    ];
    const seqs: number[] = [];
    for (const e of entries) seqs.push(await r.audit({ ...e, seq: 999 }));
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], "seq is monotonic");
    // The registry stamps who wrote each entry: this process and this nx.
    const withSeq = entries.map((e, i) => ({ ...e, seq: seqs[i], actor: processActor() }));
    const table: [string, string | undefined, number | undefined, AuditEntry[]][] = [
      ["all", undefined, undefined, withSeq],
      ["one app", "a", undefined, [withSeq[0], withSeq[2], withSeq[3]]],
      ["last two", undefined, 2, withSeq.slice(2)],
      ["last two of a", "a", 2, [withSeq[2], withSeq[3]]],
      ["limit 0", undefined, 0, []],
      ["absent app", "zzz", undefined, []],
    ];
    for (const [name, appId, limit, expected] of table) {
      await t.step(name, async () => {
        assert.deepEqual(await r.history(appId, limit), expected);
      });
    }
    await t.step(
      "a bad limit",
      () => rejectsWith(r.history(undefined, -1), "usage.invalid_argument"),
    );
    await t.step("auditEntry() reads one entry by its id", async () => {
      assert.deepEqual(await r.auditEntry(seqs[2]), withSeq[2]);
      assert.equal(await r.auditEntry(seqs[3] + 1), undefined);
    });
  });
});

Deno.test("audit() records an entry without an app, and a given actor as it is", async () => {
  await withRegistry(async (r) => {
    const actor = { uid: 1000, user: "alice", nxVersion: "0.0.1" };
    const a = await r.audit({
      time: "t1",
      op: "policy-set",
      result: "ok",
      details: { key: "mode" },
    });
    const b = await r.audit({ time: "t2", op: "trust-add", result: "ok", actor });
    // "*" is how nx before schema 3 spelled "the whole root": it is stored and read as no app.
    const c = await r.audit({ time: "t3", op: "repair", appId: "*", result: "ok" });
    assert.deepEqual(await r.history(), [
      {
        seq: a,
        time: "t1",
        op: "policy-set",
        result: "ok",
        actor: processActor(),
        details: { key: "mode" },
      },
      { seq: b, time: "t2", op: "trust-add", result: "ok", actor },
      { seq: c, time: "t3", op: "repair", result: "ok", actor: processActor() },
    ]);
    assert.deepEqual(await r.history("*"), []);
  });
});

Deno.test("openRegistry() migrates a version 2 audit log to schema 3, keeping every id", async () => {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    const raw = createClient({ url });
    try {
      for (const m of MIGRATIONS.slice(0, 2)) await raw.batch([...m.statements], "write");
      await raw.execute(setVersionStatement(2));
      await raw.batch([
        `INSERT INTO audit (seq, time, op, app_id, to_version, result) VALUES
          (5, 't1', 'install', 'notes', '1.0.0', 'ok')`,
        `INSERT INTO audit (seq, time, op, app_id, result, details) VALUES
          (9, 't2', 'repair', '*', 'ok', '{"repaired":[]}')`,
      ], "write");
    } finally {
      raw.close();
    }
    const before: AuditEntry[] = [
      { seq: 5, time: "t1", op: "install", appId: "notes", toVersion: "1.0.0", result: "ok" },
      { seq: 9, time: "t2", op: "repair", result: "ok", details: { repaired: [] } },
    ];
    // A reader reads the old log as it is (no actor), without migrating it.
    const reader = await openRegistry(url, { readOnly: true });
    assert.deepEqual(await reader.history(), before);
    reader.close();
    const writer = await openRegistry(url);
    try {
      assert.deepEqual(await writer.history(), before);
      assert.deepEqual(await writer.history("notes"), [before[0]]);
      const next = await writer.audit({ time: "t3", op: "init", result: "ok" });
      assert.equal(next, 10, "ids go on after the highest one: never reused");
      assert.deepEqual((await writer.auditEntry(10))?.actor, processActor());
    } finally {
      writer.close();
    }
    const check = createClient({ url });
    const meta = await check.execute("SELECT value FROM meta WHERE key = 'schema_version'");
    assert.equal(meta.rows[0].value, String(REGISTRY_SCHEMA_VERSION));
    check.close();
  });
});

Deno.test("appTablesDigest() changes on register and not on audit()", async () => {
  await withRegistry(async (r) => {
    const empty = await r.appTablesDigest();
    assert.match(empty, /^[0-9a-f]{64}$/);
    await r.register(FULL);
    const one = await r.appTablesDigest();
    assert.notEqual(one, empty);
    await r.audit({ time: "t", op: "install", appId: FULL.id, result: "ok" });
    assert.equal(await r.appTablesDigest(), one);
    await r.register(FULL);
    assert.equal(await r.appTablesDigest(), one, "registering the same record again");
    await r.register({ ...FULL, updatedAt: "2025-01-01T00:00:00Z" });
    assert.notEqual(await r.appTablesDigest(), one);
  });
});

Deno.test("list() returns 1,000 apps sorted by id", async () => {
  await withRegistry(async (r) => {
    const ids = Array.from({ length: 1000 }, (_, i) => `app${String((i * 7919) % 1000)}`);
    for (const id of ids) {
      await r.register(appRecord(id, [versionRecord(id, "2.0.0"), versionRecord(id, "1.0.0")]));
    }
    const apps = await r.list();
    assert.equal(apps.length, 1000);
    assert.deepEqual(apps.map((a) => a.id), [...ids].sort());
    assert.ok(apps.every((a) => a.versions.map((v) => v.version).join() === "2.0.0,1.0.0"));
    assert.deepEqual(apps[0], await r.get(apps[0].id));
  });
});

Deno.test("openRegistry() keeps data across close and reopen", async () => {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    const first = await openRegistry(url);
    await first.register(FULL);
    const seq = await first.audit({ time: "t", op: "install", appId: FULL.id, result: "ok" });
    const digest = await first.appTablesDigest();
    first.close();
    first.close();
    await rejectsWith(first.list(), "registry.failed");

    const again = await openRegistry(url);
    assert.deepEqual(await again.list(), [FULL]);
    assert.equal(await again.appTablesDigest(), digest);
    assert.equal((await again.history())[0].seq, seq);
    again.close();

    const reader = await openRegistry(url, { readOnly: true });
    assert.deepEqual(await reader.get(FULL.id), FULL);
    await rejectsWith(reader.register(FULL), "registry.failed");
    await rejectsWith(reader.unregister(FULL.id), "registry.failed");
    await rejectsWith(reader.setState(FULL.id, "inactive"), "registry.failed");
    await rejectsWith(
      reader.audit({ time: "t", op: "repair", appId: "x", result: "ok" }),
      "registry.failed",
    );
    reader.close();
  });
});

Deno.test("openRegistry() puts a file database in WAL mode with a meta version", async () => {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    (await openRegistry(url)).close();
    const raw = createClient({ url });
    try {
      assert.equal((await raw.execute("PRAGMA journal_mode")).rows[0].journal_mode, "wal");
      const meta = await raw.execute("SELECT value FROM meta WHERE key = 'schema_version'");
      assert.equal(meta.rows[0].value, String(REGISTRY_SCHEMA_VERSION));
    } finally {
      raw.close();
    }
  });
});

Deno.test("openRegistry() creates the schema in an empty existing file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "registry.db");
    await Deno.writeFile(path, new Uint8Array());
    const r = await openRegistry(registryUrlForFile(path), { readOnly: true });
    assert.deepEqual(await r.list(), []);
    r.close();
    assert.equal((await Deno.stat(path)).size, 0, "a read-only open leaves it empty");
    const w = await openRegistry(registryUrlForFile(path));
    await w.register(FULL);
    assert.deepEqual(await w.get(FULL.id), FULL);
    w.close();
  });
});

Deno.test("openRegistry({ readOnly }) on a missing file does not create it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "pkg", "registry.db");
    const r = await openRegistry(registryUrlForFile(path), { readOnly: true });
    try {
      assert.deepEqual(await r.list(), []);
      assert.equal(await r.get("a"), undefined);
      assert.deepEqual(await r.query({ ability: "VIEW" }), []);
      assert.deepEqual(await r.history(), []);
      await rejectsWith(r.register(FULL), "registry.failed");
    } finally {
      r.close();
    }
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // the empty view digests like an empty registry
    await withRegistry(async (w) => {
      const view = await openRegistry(registryUrlForFile(path), { readOnly: true });
      assert.equal(await view.appTablesDigest(), await w.appTablesDigest());
      view.close();
    });
  });
});

Deno.test("openRegistry() refuses a newer schema with registry.unsupported_version", async (t) => {
  for (const readOnly of [false, true]) {
    await t.step(`readOnly: ${readOnly}`, () =>
      withTempDir(async (dir) => {
        const url = dbUrl(dir);
        const r = await openRegistry(url);
        await r.register(FULL);
        r.close();
        const raw = createClient({ url });
        await raw.execute({
          sql: "UPDATE meta SET value = ? WHERE key = 'schema_version'",
          args: [String(REGISTRY_SCHEMA_VERSION + 1)],
        });
        raw.close();
        await rejectsWith(openRegistry(url, { readOnly }), "registry.unsupported_version");
      }));
  }
});

Deno.test("openRegistry() calls a file that is not an nx registry registry.corrupt", async (t) => {
  const sqlite = (sql: string[]) => async (path: string) => {
    const raw = createClient({ url: registryUrlForFile(path) });
    try {
      for (const s of sql) await raw.execute(s);
    } finally {
      raw.close();
    }
  };
  const nxThen = (sql: string[]) => async (path: string) => {
    (await openRegistry(registryUrlForFile(path))).close();
    await sqlite(sql)(path);
  };
  const cases: [string, (path: string) => Promise<void>][] = [
    ["garbage bytes", (p) => Deno.writeTextFile(p, "this is not a database\n".repeat(300))],
    ["a few garbage bytes", (p) => Deno.writeTextFile(p, "hi")],
    [
      "a damaged header",
      async (p) => {
        // checkpointed first: while page 1 lives in the WAL, the file's own header is not read
        await nxThen(["PRAGMA wal_checkpoint(TRUNCATE)"])(p);
        const bytes = await Deno.readFile(p);
        bytes.fill(0x5a, 0, 100);
        await Deno.writeFile(p, bytes);
      },
    ],
    ["another app's database", sqlite(["CREATE TABLE notes (id INTEGER PRIMARY KEY)"])],
    ["meta without a version", nxThen(["DELETE FROM meta"])],
    ["a malformed version", nxThen(["UPDATE meta SET value = 'one'"])],
    ["a missing apps table", nxThen(["DROP TABLE apps"])],
  ];
  for (const [name, make] of cases) {
    for (const readOnly of [false, true]) {
      await t.step(`${name} (readOnly: ${readOnly})`, () =>
        withTempDir(async (dir) => {
          const path = join(dir, "registry.db");
          await make(path);
          await rejectsWith(
            openRegistry(registryUrlForFile(path), { readOnly }),
            "registry.corrupt",
          );
        }));
    }
  }
});

Deno.test("openRegistry() reports a libSQL failure as registry.failed", async (t) => {
  await t.step("a missing directory", () =>
    withTempDir(async (dir) => {
      const url = registryUrlForFile(join(dir, "no", "such", "registry.db"));
      await rejectsWith(openRegistry(url), "registry.failed");
    }));
  await t.step(
    "a remote URL",
    () => rejectsWith(openRegistry("libsql://example.org"), "registry.failed"),
  );
  await t.step("a server that is not there: the remote (Hrana) client tried it", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const { port } = listener.addr as Deno.NetAddr;
    listener.close(); // nothing listens on the port now
    await assert.rejects(openRegistry(`ws://127.0.0.1:${port}`), (e: unknown) => {
      assert.ok(e instanceof NxError && e.code === "registry.failed", String(e));
      // the local sqlite3 client would have refused the scheme (URL_SCHEME_NOT_SUPPORTED)
      assert.equal(e.details?.sqliteCode, "HRANA_WEBSOCKET_ERROR");
      return true;
    });
  });
});

Deno.test("get() calls a malformed row registry.corrupt", async () => {
  await withRegistry(async (r, url) => {
    await r.register(FULL);
    const raw = createClient({ url });
    await raw.execute("UPDATE versions SET manifest = '{not json' WHERE version = '1.0.0'");
    raw.close();
    await rejectsWith(r.get(FULL.id), "registry.corrupt");
    await rejectsWith(r.list(), "registry.corrupt");
  });
});

Deno.test("registryUrlForFile() keeps paths with URL metacharacters", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "a b#c?d%20e", "registry.db");
    await Deno.mkdir(join(dir, "a b#c?d%20e"));
    const url = registryUrlForFile(path);
    assert.ok(url.startsWith("file:/"));
    const r = await openRegistry(url);
    await r.register(FULL);
    r.close();
    assert.ok((await Deno.stat(path)).isFile);
  });
});

Deno.test("a reader sees the old or the new record while a writer registers", async (t) => {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    const writer = await openRegistry(url);
    const reader = await openRegistry(url, { readOnly: true });
    const other = await openRegistry(url);
    const old = FULL;
    const next = appRecord(FULL.id, [versionRecord(FULL.id, "3.0.0"), FULL.versions[0]]);
    try {
      await writer.register(old);

      await t.step("an open write transaction does not block or leak to readers", async () => {
        const raw = createClient({ url });
        const tx = await raw.transaction("write");
        try {
          await tx.execute("DELETE FROM versions");
          await tx.execute("UPDATE apps SET version = '3.0.0'");
          assert.deepEqual(await reader.get(FULL.id), old);
          assert.deepEqual(await reader.list(), [old]);
          await tx.rollback();
        } finally {
          tx.close();
          raw.close();
        }
      });

      await t.step("interleaved writes and reads", async () => {
        for (let i = 0; i < 25; i++) {
          const record = i % 2 === 0 ? next : old;
          const [, ...seen] = await Promise.all([
            writer.register(record),
            reader.get(FULL.id),
            other.get(FULL.id),
            reader.list().then((l) => l[0]),
            reader.get(FULL.id),
          ]);
          for (const s of seen) {
            assert.ok(
              s !== undefined && [old.version, next.version].includes(s.version),
              `saw ${s?.version}`,
            );
            assert.deepEqual(s, s.version === old.version ? old : next);
          }
          assert.deepEqual(await reader.get(FULL.id), record);
        }
      });
    } finally {
      writer.close();
      reader.close();
      other.close();
    }
  });
});

Deno.test("summaries() lists apps with retained versions and sizes, without files", async () => {
  await withTempDir(async (dir) => {
    const reg = await openRegistry(dbUrl(dir));
    try {
      const notes = appRecord("notes", [
        versionRecord("notes", "1.1.0"),
        versionRecord("notes", "1.0.0"),
      ]);
      await reg.register(notes);
      await reg.register(appRecord("alpha", [versionRecord("alpha", "2.0.0")]));
      const rows = await reg.summaries();
      assert.deepEqual(rows.map((r) => r.id), ["alpha", "notes"]);
      assert.deepEqual(rows[1].versions, ["1.1.0", "1.0.0"]);
      assert.equal(rows[1].version, notes.version);
      assert.equal(rows[1].size, notes.versions.reduce((n, v) => n + v.size, 0));
    } finally {
      reg.close();
    }
  });
});

Deno.test("unregister() records who the kept data belongs to; register() forgets it", async () => {
  await withRegistry(async (r) => {
    assert.equal(await r.keptData(FULL.id), undefined);
    await r.register(FULL);
    assert.equal(await r.keptData(FULL.id), undefined, "a registered app owns its data itself");
    await r.unregister(FULL.id);
    const kept = { appId: FULL.id, publisher: FULL.publisher, version: FULL.version };
    assert.deepEqual(await r.keptData(FULL.id), kept);
    // unregistering an absent app leaves the record as it is
    await r.unregister(FULL.id);
    assert.deepEqual(await r.keptData(FULL.id), kept);
    const other = appRecord("com.example.other", [versionRecord("com.example.other", "1.0.0")]);
    await r.register(other);
    assert.equal(await r.keptData(other.id), undefined, "records are per app");
    await r.register({ ...FULL, publisher: "f".repeat(32) });
    assert.equal(await r.keptData(FULL.id), undefined);
  });
});

Deno.test("commit-registry's undo restores the kept-data record exactly", async (t) => {
  // The step's do/undo as core/apply/steps.ts runs them: register(after) or unregister(id), and
  // back with register(before) or unregister(id).
  await t.step(
    "uninstall (unregister), undone by register(before)",
    () =>
      withRegistry(async (r) => {
        await r.register(FULL);
        const digest = await r.appTablesDigest();
        await r.unregister(FULL.id);
        await r.register(FULL);
        assert.equal(await r.keptData(FULL.id), undefined);
        assert.equal(await r.appTablesDigest(), digest);
      }),
  );
  await t.step(
    "install over kept data (register), undone by unregister",
    () =>
      withRegistry(async (r) => {
        await r.register(FULL);
        await r.unregister(FULL.id);
        const before = await r.keptData(FULL.id);
        const digest = await r.appTablesDigest();
        const adopted = appRecord(FULL.id, [versionRecord(FULL.id, "3.0.0")]);
        await r.register(adopted);
        assert.equal(await r.keptData(FULL.id), undefined);
        await r.unregister(FULL.id);
        assert.deepEqual(await r.keptData(FULL.id), { ...before, version: "3.0.0" });
        assert.equal((await r.keptData(FULL.id))?.publisher, before?.publisher);
        assert.equal(await r.appTablesDigest(), digest);
      }),
  );
  await t.step(
    "a register that never happened, undone by unregister, keeps the record",
    () =>
      withRegistry(async (r) => {
        await r.register(FULL);
        await r.unregister(FULL.id);
        const before = await r.keptData(FULL.id);
        await r.unregister(FULL.id);
        assert.deepEqual(await r.keptData(FULL.id), before);
      }),
  );
});

Deno.test("openRegistry() migrates a version 1 database and keeps its rows", async () => {
  await withTempDir(async (dir) => {
    const url = dbUrl(dir);
    const raw = createClient({ url });
    try {
      const v1 = MIGRATIONS[0];
      await raw.batch([...v1.statements, setVersionStatement(1)], "write");
      await raw.execute(
        `INSERT INTO apps (id, version, state, publisher, bundle_type, installed_at, updated_at)
          VALUES ('old', '1.0.0', 'active', '${"a".repeat(32)}', 'app', 't', 't')`,
      );
      await raw.execute(
        `INSERT INTO versions (app_id, version, ord, size, files, manifest, scheme, installed_at)
          VALUES ('old', '1.0.0', 0, 1, '[]', '${
          JSON.stringify(versionRecord("old", "1.0.0").manifest)
        }', 'nx-index', 't')`,
      );
    } finally {
      raw.close();
    }
    // A reader of the older version needs no migration (kept_data is for writers only).
    const reader = await openRegistry(url, { readOnly: true });
    assert.deepEqual((await reader.list()).map((a) => a.id), ["old"]);
    assert.equal(await reader.keptData("old"), undefined);
    reader.close();
    const check = createClient({ url });
    const meta = await check.execute("SELECT value FROM meta WHERE key = 'schema_version'");
    assert.equal(meta.rows[0].value, "1", "the reader did not migrate");
    check.close();
    const writer = await openRegistry(url);
    await writer.unregister("old");
    assert.equal((await writer.keptData("old"))?.publisher, "a".repeat(32));
    writer.close();
  });
});
