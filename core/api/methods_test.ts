import assert from "node:assert/strict";
import { z } from "zod";
import { NxError } from "../errors.ts";
import type { AnySchema } from "../schema/mod.ts";
import {
  AppInfoSchema,
  AuditEntrySchema,
  BundleRefSchema,
  DoctorReportSchema,
  errorFromValue,
  errorValue,
  ErrorValueSchema,
  EventSchema,
  InspectReportSchema,
  METHOD_NAMES,
  METHODS,
  OpResultSchema,
  QueryHitSchema,
  throwIfCancelled,
  toNxError,
  VerifiedBundleSchema,
} from "./mod.ts";
import {
  AUDIT,
  DIFF,
  DOCTOR,
  FINDING,
  INFO,
  INSPECT,
  looseObjects,
  MANIFEST,
  MIGRATION,
  OP,
  SAMPLES,
  VERIFIED,
  wire,
} from "./_testing.ts";

Deno.test("METHODS has one method per root command, and nothing else", () => {
  assert.deepEqual(METHOD_NAMES, [
    "verify",
    "inspect",
    "install",
    "upgrade",
    "rollback",
    "uninstall",
    "repair",
    "clearData",
    "list",
    "info",
    "history",
    "query",
    "doctor",
    "trustAdd",
    "trustRemove",
    "trustList",
    "policyShow",
    "policySet",
    "init",
    "licensedImport",
    "licensedList",
    "licensedStatus",
    "licensedDevice",
    "licensedTrustAdd",
    "licensedTrustRemove",
    "licensedTrustList",
    "launch",
  ]);
});

Deno.test("METHODS says which methods write, take a bundle, change trust", async (t) => {
  await t.step("bundle is set exactly where the request has a bundle reference", () => {
    for (const m of METHOD_NAMES) {
      const shape = (METHODS[m].request as unknown as { shape?: Record<string, unknown> }).shape;
      assert.equal(METHODS[m].bundle, shape !== undefined && "bundle" in shape, m);
    }
  });
  await t.step("writers", () => {
    const writers = METHOD_NAMES.filter((m) => METHODS[m].writes);
    assert.deepEqual(writers, [
      "install",
      "upgrade",
      "rollback",
      "uninstall",
      "repair",
      "clearData",
      "doctor",
      "trustAdd",
      "trustRemove",
      "policySet",
      "init",
      "licensedImport",
      "licensedDevice",
      "licensedTrustAdd",
      "licensedTrustRemove",
    ]);
  });
  await t.step("admin methods are the writers of trust and policy", () => {
    const admin = METHOD_NAMES.filter((m) => METHODS[m].admin);
    assert.deepEqual(admin, [
      "trustAdd",
      "trustRemove",
      "policySet",
      "licensedTrustAdd",
      "licensedTrustRemove",
    ]);
    for (const m of admin) assert.equal(METHODS[m].writes, true);
  });
});

Deno.test("every method's requests and results round-trip through JSON and their schema", async (t) => {
  for (const m of METHOD_NAMES) {
    const { requests, results } = SAMPLES[m];
    for (const [i, request] of requests.entries()) {
      await t.step(`${m} request ${i}`, () => {
        assert.deepEqual(METHODS[m].request.parse(wire(request)), request);
      });
    }
    for (const [i, result] of results.entries()) {
      await t.step(`${m} result ${i}`, () => {
        // No defaults filled in, nothing stripped: a result is exactly its schema's shape.
        assert.deepEqual(METHODS[m].result.parse(wire(result)), wire(result));
      });
    }
  }
});

Deno.test("requests carry no host-local meaning", async (t) => {
  await t.step("a bundle is a reference with a kind, a bare path string is refused", () => {
    assert.equal(METHODS.install.request.safeParse({ bundle: "notes.nxb" }).success, false);
    assert.equal(BundleRefSchema.safeParse({ kind: "path", path: "n.nxb" }).success, true);
    assert.equal(BundleRefSchema.safeParse({ kind: "path", path: "" }).success, false);
    assert.equal(BundleRefSchema.safeParse({ kind: "upload", id: "1" }).success, false);
  });
  await t.step("trustAdd carries the key's text, not a file name", () => {
    const shape = Object.keys(METHODS.trustAdd.request.shape);
    assert.deepEqual(shape.sort(), ["enabled", "name", "publicKey", "publisher"]);
    assert.equal(METHODS.trustAdd.request.safeParse({ keyFile: "dev.pub" }).success, false);
  });
});

Deno.test("request schemas refuse malformed params", async (t) => {
  const cases: [string, AnySchema, unknown][] = [
    ["extra key", METHODS.info.request, { app: "notes", force: true }],
    ["params of another method", METHODS.info.request, { bundle: { kind: "path", path: "n" } }],
    ["empty app", METHODS.info.request, { app: "" }],
    ["list with params", METHODS.list.request, { all: true }],
    ["install dryRun as a string", METHODS.install.request, {
      bundle: { kind: "path", path: "n.nxb" },
      dryRun: "yes",
    }],
    ["install allowDowngrade as a string", METHODS.install.request, {
      bundle: { kind: "path", path: "n.nxb" },
      allowDowngrade: "yes",
    }],
    ["bundle reference with an extra key", METHODS.verify.request, {
      bundle: { kind: "path", path: "n.nxb", mode: 1 },
    }],
    ["history limit 0", METHODS.history.request, { limit: 0 }],
    ["history limit 1.5", METHODS.history.request, { limit: 1.5 }],
    ["query with two keys", METHODS.query.request, { ability: "a", capability: "c" }],
    ["query with no key", METHODS.query.request, {}],
    ["query with an unknown key", METHODS.query.request, { service: "s" }],
    ["doctor repair as a string", METHODS.doctor.request, { repair: "yes" }],
    ["trustRemove without an id", METHODS.trustRemove.request, {}],
    ["policySet of a number", METHODS.policySet.request, { key: "retain-versions", value: 3 }],
    ["not an object", METHODS.info.request, "info notes"],
    ["null", METHODS.list.request, null],
  ];
  for (const [name, schema, value] of cases) {
    await t.step(name, () => assert.equal(schema.safeParse(value).success, false));
  }
});

Deno.test("result schemas reject unknown keys at every depth", async (t) => {
  const cases: [string, AnySchema, unknown][] = [
    ["OpResult top level", OpResultSchema, { ...OP, txid: "x" }],
    ["OpResult step", OpResultSchema, { ...OP, steps: [{ kind: "commit-registry", n: 1 }] }],
    ["OpResult unknown step kind", OpResultSchema, { ...OP, steps: [{ kind: "reboot" }] }],
    ["OpResult step field of another kind", OpResultSchema, {
      ...OP,
      steps: [{ kind: "stage-version", version: "1.0.0", keepData: true }],
    }],
    ["OpResult post step", OpResultSchema, { ...OP, post: [{ kind: "purge-staging", all: 1 }] }],
    ["OpResult migration", OpResultSchema, {
      ...OP,
      steps: [{ kind: "run-migrations", chain: [{ ...MIGRATION, sha: "x" }] }],
    }],
    ["OpResult diff", OpResultSchema, { ...OP, diff: { ...DIFF, why: "x" } }],
    ["VerifiedBundle signer", VerifiedBundleSchema, {
      ...VERIFIED,
      signer: { ...VERIFIED.signer, alg: "ed25519" },
    }],
    ["VerifiedBundle manifest", VerifiedBundleSchema, {
      ...VERIFIED,
      manifest: { ...MANIFEST, icon: "x" },
    }],
    ["VerifiedBundle manifest export", VerifiedBundleSchema, {
      ...VERIFIED,
      manifest: { ...MANIFEST, exports: [{ ability: "a", permission: "p", x: 1 }] },
    }],
    ["VerifiedBundle file", VerifiedBundleSchema, {
      ...VERIFIED,
      files: [{ path: "p", size: 1, sha256: "a".repeat(64), mode: 0o644 }],
    }],
    ["VerifiedBundle warning with an unknown code", VerifiedBundleSchema, {
      ...VERIFIED,
      warnings: [{ code: "policy.nope", message: "m" }],
    }],
    ["AppInfo history entry", AppInfoSchema, { ...INFO, history: [{ ...AUDIT, user: "root" }] }],
    ["AppInfo unknown state", AppInfoSchema, { ...INFO, state: "frozen" }],
    ["AuditEntry unknown op", AuditEntrySchema, { ...AUDIT, op: "reboot" }],
    ["QueryHit extra key", QueryHitSchema, {
      appId: "a",
      version: "1",
      state: "active",
      match: "m",
      x: 1,
    }],
    ["DoctorReport finding", DoctorReportSchema, { ...DOCTOR, findings: [{ ...FINDING, x: 1 }] }],
    ["DoctorReport unknown finding kind", DoctorReportSchema, {
      ...DOCTOR,
      findings: [{ ...FINDING, kind: "cosmic-ray" }],
    }],
    ["InspectReport bundle", InspectReportSchema, { ...INSPECT, bundle: { ...VERIFIED, x: 1 } }],
    ["list result is an array", METHODS.list.result, { apps: [] }],
    ["Publisher extra key", METHODS.trustAdd.result, { ...SAMPLES.trustAdd.results[0], x: 1 }],
  ];
  for (const [name, schema, value] of cases) {
    await t.step(name, () => assert.equal(schema.safeParse(wire(value)).success, false));
  }
});

Deno.test("every request and result schema is strict in its JSON Schema", async (t) => {
  for (const m of METHOD_NAMES) {
    for (const side of ["request", "result"] as const) {
      await t.step(`${m} ${side}`, () => {
        const json = z.toJSONSchema(METHODS[m][side], { io: "input", unrepresentable: "any" });
        assert.deepEqual(looseObjects(json), []);
      });
    }
  }
});

Deno.test("a failure crosses as a value and comes back as the same NxError", async (t) => {
  await t.step("code, message, hint and details survive", () => {
    const e = new NxError("doctor.findings", "cannot vouch for /r: 1 finding(s)", {
      hint: "run `nx pkg doctor --repair`",
      details: { report: DOCTOR },
    });
    const sent = wire(errorValue(e));
    assert.deepEqual(ErrorValueSchema.parse(sent), sent);
    const back = errorFromValue(ErrorValueSchema.parse(sent));
    assert.equal(back.code, e.code);
    assert.equal(back.message, e.message);
    assert.equal(back.hint, e.hint);
    assert.deepEqual(back.details, wire(e.details));
    assert.equal(back.exitClass, "validation_reject");
  });
  await t.step("anything else is internal.unexpected, without hint or details keys", () => {
    assert.deepEqual(errorValue(new TypeError("x is undefined")), {
      code: "internal.unexpected",
      message: "cannot continue: x is undefined",
    });
    assert.equal(toNxError("plain string").code, "internal.unexpected");
  });
  await t.step("an unknown code is refused", () => {
    assert.equal(ErrorValueSchema.safeParse({ code: "no.such", message: "m" }).success, false);
  });
});

Deno.test("throwIfCancelled() ends an aborted call with op.cancelled", () => {
  throwIfCancelled(undefined);
  const controller = new AbortController();
  throwIfCancelled(controller.signal);
  controller.abort();
  assert.throws(
    () => throwIfCancelled(controller.signal),
    (e) => e instanceof NxError && e.code === "op.cancelled",
  );
});

Deno.test("EventSchema parses each kind of event and refuses others", async (t) => {
  const events = [
    { kind: "marker", text: "pkgr: verified ok" },
    { kind: "warning", code: "lock.stale", message: "took over a stale lock from pid 1" },
    { kind: "progress", phase: "staging", done: 3, total: 10 },
  ];
  for (const event of events) {
    await t.step(event.kind, () => assert.deepEqual(EventSchema.parse(wire(event)), event));
  }
  for (
    const bad of [
      { kind: "marker", text: "x", extra: 1 },
      { kind: "log", text: "x" },
      { kind: "progress", phase: "p", done: -1, total: 1 },
    ]
  ) {
    await t.step(`refuses ${JSON.stringify(bad)}`, () => {
      assert.equal(EventSchema.safeParse(bad).success, false);
    });
  }
});
