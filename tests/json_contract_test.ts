/**
 * The `--json` contract at run time: the real CLI's envelope `data` for each verb parses with
 * the published schema (core/api for the methods' results, core/protocol for the CLI's own data),
 * strictly — an unknown key, a missing key or a wrong type fails. Together with the type-level
 * checks beside the schemas this is the drift check between the code and the schemas.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  AppInfoSchema,
  DeviceViewSchema,
  DoctorReportSchema,
  EntitlementStatusSchema,
  ImportResultSchema,
  InspectReportSchema,
  LaunchResultSchema,
  LedgerViewSchema,
  METHODS,
  OpResultSchema,
  StoreKeyViewSchema,
  VerifiedBundleSchema,
} from "../core/api/mod.ts";
import {
  AppSummaryListSchema,
  AuditEntryListSchema,
  CatalogSchema,
  KeygenResultSchema,
  PackResultSchema,
  PublisherListSchema,
  QueryHitListSchema,
  StoreBuySchema,
  StoreKeyListSchema,
} from "../core/protocol/mod.ts";
import type { AnySchema } from "../core/schema/mod.ts";
import { PolicySchema, PublisherSchema } from "../core/trust/policy.ts";
import { copyFixture, FIXTURES, nx, tempDir, trustedRoot } from "./helpers.ts";
import { jsonData, offCase } from "./_json.ts";

const data = jsonData;

Deno.test("every --json verb's data matches its schema (pack → uninstall)", async (t) => {
  const work = await tempDir();
  const root = await trustedRoot();
  const opts = { root };

  await t.step("keygen", async () => {
    const r = await data(
      ["pkg", "keygen", "--out", join(work, "keys"), "--name", "k"],
      KeygenResultSchema,
    );
    assert.equal(r.name, "k");
  });

  await t.step("pack (signed and payload-only)", async () => {
    const src = (id: string) => join(FIXTURES, "src", id);
    const key = join(FIXTURES, "keys", "dev.key");
    const signed = await data(
      ["pkg", "pack", src("notes-1.0.0"), "--key", key, "--out", join(work, "signed.nxb")],
      PackResultSchema,
    );
    assert.equal(signed.scheme, "nx-index");
    const bare = await data(
      ["pkg", "pack", src("legacy-1.0.0"), "--out", join(work, "bare.nxb")],
      PackResultSchema,
    );
    assert.equal(bare.scheme, "payload-only");
  });

  const v1 = await copyFixture("notes-1.0.0");
  const v11 = await copyFixture("notes-1.1.0");

  await t.step("verify", async () => {
    const v = await data(["pkg", "verify", v1], VerifiedBundleSchema, opts);
    METHODS.verify.result.parse(v);
    assert.equal(v.signer.trusted, true);
  });

  await t.step("verify of a bundle with migrations", async () => {
    const v = await data(["pkg", "verify", v11], VerifiedBundleSchema, opts);
    assert.equal(v.migrations.length, 1);
  });

  await t.step("inspect (trusted)", async () => {
    const r = await data(["pkg", "inspect", v1], InspectReportSchema, opts);
    assert.equal(r.verified, true);
  });

  await t.step("inspect (untrusted: a failure as data)", async () => {
    const r = await data(["pkg", "inspect", v1], InspectReportSchema, {
      root: join(await tempDir(), "root"),
    });
    assert.equal(r.verified, false);
    assert.equal(typeof r.code, "string");
  });

  await t.step("install --dry-run", async () => {
    const r = await data(["pkg", "install", v1, "--dry-run"], OpResultSchema, opts);
    assert.equal(r.dryRun, true);
  });

  await t.step("install", async () => {
    const r = await data(["pkg", "install", v1], OpResultSchema, opts);
    METHODS.install.result.parse(r);
    assert.equal(r.toVersion, "1.0.0");
  });

  await t.step("upgrade (notes 1.0.0 → 1.1.0, with a migration)", async () => {
    const r = await data(["pkg", "upgrade", v11], OpResultSchema, opts);
    assert.equal(r.toVersion, "1.1.0");
    assert.ok(r.steps.some((s) => s.kind === "run-migrations"));
  });

  await t.step("rollback", async () => {
    const r = await data(["pkg", "rollback", "notes"], OpResultSchema, opts);
    assert.equal(r.toVersion, "1.0.0");
  });

  await t.step("list", async () => {
    const r = await data(["pkg", "list"], AppSummaryListSchema, opts);
    METHODS.list.result.parse(r.apps);
    assert.deepEqual(r.apps.map((a) => a.id), ["notes"]);
  });

  await t.step("info", async () => {
    const r = await data(["pkg", "info", "notes"], AppInfoSchema, opts);
    assert.ok(r.history.length >= 3);
  });

  await t.step("history", async () => {
    const all = await data(["pkg", "history"], AuditEntryListSchema, opts);
    METHODS.history.result.parse(all.entries);
    const last = await data(
      ["pkg", "history", "notes", "--limit", "1"],
      AuditEntryListSchema,
      opts,
    );
    assert.equal(last.entries.length, 1);
  });

  await t.step("query (ability, capability, export)", async () => {
    for (
      const q of [
        ["--ability", "notes.open"],
        ["--capability", "nexus.permission.STORAGE"],
        ["--export", "app.notes.SHARE"],
      ]
    ) {
      const r = await data(["pkg", "query", ...q], QueryHitListSchema, opts);
      METHODS.query.result.parse(r.hits);
      assert.equal(r.hits.length, 1, q.join(" "));
    }
  });

  await t.step("doctor", async () => {
    const r = await data(["pkg", "doctor"], DoctorReportSchema, opts);
    assert.equal(r.ok, true);
  });

  await t.step(
    "doctor with findings (the report in the error's details), then --repair",
    async () => {
      await Deno.mkdir(join(root, "pkg", "staging", "leftover"), { recursive: true });
      const r = await nx(["pkg", "doctor", "--json"], opts);
      assert.equal(r.json?.code, "doctor.findings", r.stdout);
      assert.deepEqual(offCase(r.json?.data, false), []);
      const report = DoctorReportSchema.parse(r.json?.data?.details?.report);
      assert.deepEqual(report.findings.map((f) => f.kind), ["staging-leftover"]);
      const repaired = await data(["pkg", "doctor", "--repair"], DoctorReportSchema, opts);
      assert.deepEqual(repaired.repaired.map((f) => f.kind), ["staging-leftover"]);
    },
  );

  await t.step("uninstall --dry-run, then uninstall", async () => {
    await data(["pkg", "uninstall", "notes", "--dry-run"], OpResultSchema, opts);
    const r = await data(["pkg", "uninstall", "notes"], OpResultSchema, opts);
    assert.equal(r.toVersion, null);
  });

  await t.step("policy show, policy set", async () => {
    await data(["pkg", "policy", "show"], PolicySchema, opts);
    const p = await data(["pkg", "policy", "set", "retain-versions", "3"], PolicySchema, opts);
    assert.equal(p.retain_versions, 3);
  });

  await t.step(
    "trust list, trust add (of a secret key file: its public half), trust remove",
    async () => {
      const r = await data(["pkg", "trust", "list"], PublisherListSchema, opts);
      assert.equal(r.publishers.length, 1);
      METHODS.trustList.result.parse(r.publishers);
      const added = await data(
        ["pkg", "trust", "add", join(work, "keys", "k.key"), "--name", "k"],
        PublisherSchema,
        opts,
      );
      METHODS.trustAdd.result.parse(added);
      assert.equal(added.name, "k");
      const removed = await data(["pkg", "trust", "remove", "k"], PublisherSchema, opts);
      assert.equal(removed.id, added.id);
    },
  );
});

Deno.test("every --json verb of licensing, the store and launch matches its schema", async (t) => {
  const root = join(await tempDir(), "root");
  const opts = { root };
  const keys = join(FIXTURES, "keys");
  assert.equal((await nx(["pkg", "trust", "add", join(keys, "store.pub")], opts)).code, 0);
  const steps: [string, string[], AnySchema][] = [
    ["trust add", ["licensed", "trust", "add", join(keys, "licensing.pub")], StoreKeyViewSchema],
    ["trust list", ["licensed", "trust", "list"], StoreKeyListSchema],
    ["device", ["licensed", "device"], DeviceViewSchema],
    ["catalog", ["store", "catalog", "--store", join(FIXTURES, "store")], CatalogSchema],
    ["buy", ["store", "buy", "ledger.pro", "--yes"], StoreBuySchema],
    ["list", ["licensed", "list"], LedgerViewSchema],
    ["status", ["licensed", "status", "ledger"], EntitlementStatusSchema],
    ["launch", ["pkg", "launch", "ledger"], LaunchResultSchema],
    ["launch --check", ["pkg", "launch", "ledger", "--check"], LaunchResultSchema],
    ["refund", ["store", "refund", "ledger.pro"], ImportResultSchema],
    ["restore", ["store", "restore", "ledger.pro"], ImportResultSchema],
  ];
  for (const [name, args, schema] of steps) {
    await t.step(name, async () => {
      // The catalog is the store's (the host's): no root.
      await data(args, schema, args[0] === "store" && args[1] === "catalog" ? {} : opts);
    });
  }
});
