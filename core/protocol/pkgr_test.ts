import assert from "node:assert/strict";
import { z } from "zod";
import type { ManifestView } from "../bundle/validate.ts";
import type { VerifiedBundle } from "../trust/verify.ts";
import type { OpResult } from "../pkgr/results.ts";
import type { AppInfo } from "../pkgr/results.ts";
import type { DoctorReport } from "../pkgr/doctor.ts";
import type { InspectReport } from "../pkgr/verify.ts";
import type { PackResult } from "../pkgr/pack.ts";
import type { KeygenResult } from "../pkgr/keys.ts";
import type { AuditEntry, QueryHit } from "../registry/types.ts";
import {
  AppInfoSchema,
  AppSummaryListSchema,
  AuditEntryListSchema,
  AuditEntrySchema,
  DoctorReportSchema,
  InspectReportSchema,
  KeygenResultSchema,
  OpResultSchema,
  PackResultSchema,
  PKGR_METHODS,
  PKGR_REQUEST_SCHEMAS,
  PKGR_RESULT_SCHEMAS,
  type PkgrCall,
  PkgrCallSchema,
  PkgrReplySchema,
  PkgrRequestSchema,
  PublisherListSchema,
  QueryHitListSchema,
  QueryHitSchema,
  VerifiedBundleSchema,
} from "./mod.ts";

const hex = (n: number, c = "a") => c.repeat(n * 2);
/** JSON out and back in: what a value looks like after crossing the wire. */
const wire = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const MANIFEST: ManifestView = {
  schemaVersion: 2,
  name: "notes",
  version: "1.1.0",
  abilities: ["notes.open"],
  capabilities: ["nexus.permission.STORAGE"],
  minSdk: "1.0.0",
  publisher: hex(16),
  signature: hex(64, "b"),
  payloadDigest: hex(32, "c"),
  payloadSize: 4608,
  sbomDigest: hex(32, "d"),
  reproDigest: "",
  bundleType: "app",
  dependencies: [{ name: "textkit", versionConstraint: "^1.0.0" }],
  providedServices: [],
  resources: [{ path: "assets/icon.svg", kind: "icon" }],
  payloadKind: "elf",
  exports: [{ ability: "notes.share", permission: "app.notes.SHARE" }],
  sku: "NOTES-1",
};

const MIGRATION = { from: "1.0.0", to: "1.1.0", script: "migrations/1.0.0_to_1.1.0.ts" };

const VERIFIED: VerifiedBundle = {
  manifest: MANIFEST,
  scheme: "nx-index",
  signer: { publisher: hex(16), key: hex(16), trusted: false },
  files: [{ path: "payload.elf", size: 4608, sha256: hex(32, "c") }],
  totalSize: 4608,
  migrations: [MIGRATION],
  warnings: [{ code: "policy.publisher_unknown", message: "cannot trust publisher" }],
};

const DIFF = {
  from: "1.0.0",
  to: "1.1.0",
  added: ["nexus.permission.NET"],
  removed: [],
  exportsAdded: [],
  exportsRemoved: ["app.notes.OLD"],
};

/** Every step and post-step kind once. */
const OP: OpResult = {
  op: "upgrade",
  appId: "notes",
  fromVersion: "1.0.0",
  toVersion: "1.1.0",
  dryRun: false,
  steps: [
    { kind: "create-app-dir" },
    { kind: "stage-version", version: "1.1.0" },
    { kind: "prepare-data", from: "1.0.0" },
    { kind: "prepare-data", from: null },
    { kind: "run-migrations", chain: [MIGRATION] },
    { kind: "retire-version", version: "1.1.0" },
    { kind: "publish-version", version: "1.1.0" },
    { kind: "publish-data", version: "1.1.0" },
    { kind: "switch-current", to: "1.1.0", from: null },
    { kind: "commit-registry" },
    { kind: "detach-app", keepData: true },
  ],
  post: [
    { kind: "gc-versions", versions: ["0.9.0"] },
    { kind: "warm-icon-cache", version: "1.1.0", icon: "assets/icon.svg" },
    { kind: "drop-icon-cache" },
    { kind: "purge-staging" },
  ],
  diff: DIFF,
  warnings: [{ code: "registry.failed", message: "cannot write the audit entry" }],
};

const AUDIT: AuditEntry = {
  seq: 3,
  time: "2024-01-01T00:00:00.000Z",
  op: "repair",
  appId: "*",
  fromVersion: "1.0.0",
  toVersion: "1.1.0",
  result: "doctor.findings",
  details: { repaired: ["version-orphan /x"], nested: { n: 1 } },
};

const INFO: AppInfo = {
  id: "notes",
  version: "1.1.0",
  state: "pending",
  publisher: hex(16),
  bundleType: "app",
  sku: "NOTES-1",
  retained: ["1.0.0"],
  size: 9000,
  dataSize: 12,
  capabilities: ["nexus.permission.STORAGE"],
  abilities: ["notes.open"],
  exports: [{ ability: "notes.share", permission: "app.notes.SHARE" }],
  lastDiff: DIFF,
  installedAt: "2024-01-01T00:00:00.000Z",
  updatedAt: "2024-01-02T00:00:00.000Z",
  history: [AUDIT, { time: "t", op: "install", appId: "notes", result: "ok" }],
};

const HIT: QueryHit = { appId: "notes", version: "1.1.0", state: "active", match: "notes.open" };

const FINDING = {
  kind: "version-orphan" as const,
  app: "notes",
  path: "/r/apps/notes/versions/0.1.0",
  message: "not in the registry",
  repairable: true,
};
const DOCTOR: DoctorReport = {
  ok: true,
  apps: 1,
  files: 5,
  recovered: "upgrade of notes: rolled back",
  findings: [],
  repaired: [FINDING, { ...FINDING, kind: "staging-leftover", app: undefined }].map((f) =>
    wire(f) as typeof FINDING
  ),
};
const INSPECT: InspectReport = {
  path: "notes.nxb",
  verified: false,
  code: "policy.publisher_unknown",
  message: "cannot trust publisher",
  bundle: VERIFIED,
};
const PACK: PackResult = {
  name: "notes",
  version: "1.0.0",
  out: "notes.nxb",
  publisher: hex(16),
  scheme: "payload-only",
  files: [{ path: "manifest.nxm", size: 300 }],
};
const KEYGEN: KeygenResult = {
  name: "dev",
  publisher: hex(16),
  secretKey: "/k/dev.key",
  publicKey: "/k/dev.pub",
};

const CALLS: PkgrCall[] = [
  { version: 1, id: "1", method: "verify", params: { bundle: "notes.nxb" } },
  { version: 1, id: "2", method: "install", params: { bundle: "notes.nxb" } },
  { version: 1, id: "3", method: "install", params: { bundle: "notes.nxb", dryRun: true } },
  {
    version: 1,
    id: "4",
    method: "upgrade",
    params: { bundle: "notes.nxb", dryRun: false, allowDowngrade: true },
  },
  { version: 1, id: "5", method: "rollback", params: { app: "notes" } },
  { version: 1, id: "6", method: "rollback", params: { app: "notes", to: "1.0.0", dryRun: true } },
  { version: 1, id: "7", method: "uninstall", params: { app: "notes", keepData: true } },
  { version: 1, id: "8", method: "list", params: {} },
  { version: 1, id: "9", method: "info", params: { app: "notes" } },
  { version: 1, id: "10", method: "history", params: {} },
  { version: 1, id: "11", method: "history", params: { app: "notes", limit: 5 } },
  { version: 1, id: "12", method: "query", params: { ability: "notes.open" } },
  { version: 1, id: "13", method: "query", params: { capability: "nexus.permission.STORAGE" } },
  { version: 1, id: "14", method: "query", params: { export: "app.notes.SHARE" } },
];

Deno.test("PkgrCallSchema parses a call of every method and round-trips it", async (t) => {
  assert.deepEqual(
    [...new Set(CALLS.map((c) => c.method))].sort(),
    [...PKGR_METHODS].sort(),
    "the table covers every method",
  );
  for (const c of CALLS) {
    await t.step(`${c.method} ${JSON.stringify(c.params)}`, () => {
      assert.deepEqual(PkgrCallSchema.parse(wire(c)), c);
      const { method, params } = c;
      assert.deepEqual(PkgrRequestSchema.parse({ method, params }), { method, params });
      assert.deepEqual(PKGR_REQUEST_SCHEMAS[method].parse(params), params);
    });
  }
});

Deno.test("PkgrCallSchema rejects malformed calls", async (t) => {
  const ok = { version: 1, id: "1", method: "info", params: { app: "notes" } };
  const cases: [string, unknown][] = [
    ["unknown method", { ...ok, method: "frobnicate" }],
    ["wrong version", { ...ok, version: 2 }],
    ["version as a string", { ...ok, version: "1" }],
    ["no version", { id: "1", method: "info", params: { app: "notes" } }],
    ["no id", { version: 1, method: "info", params: { app: "notes" } }],
    ["empty id", { ...ok, id: "" }],
    ["numeric id", { ...ok, id: 1 }],
    ["no params", { version: 1, id: "1", method: "info" }],
    ["extra top-level key", { ...ok, extra: true }],
    ["extra params key", { ...ok, params: { app: "notes", force: true } }],
    ["params of another method", { ...ok, params: { bundle: "notes.nxb" } }],
    ["empty app", { ...ok, params: { app: "" } }],
    ["list with params", { ...ok, method: "list", params: { all: true } }],
    ["install dryRun as a string", {
      ...ok,
      method: "install",
      params: { bundle: "n.nxb", dryRun: "yes" },
    }],
    ["install allowDowngrade as a string", {
      ...ok,
      method: "install",
      params: { bundle: "n.nxb", allowDowngrade: "yes" },
    }],
    ["history limit 0", { ...ok, method: "history", params: { limit: 0 } }],
    ["history limit 1.5", { ...ok, method: "history", params: { limit: 1.5 } }],
    ["query with two keys", {
      ...ok,
      method: "query",
      params: { ability: "a", capability: "c" },
    }],
    ["query with no key", { ...ok, method: "query", params: {} }],
    ["query with an unknown key", { ...ok, method: "query", params: { service: "s" } }],
    ["not an object", "info notes"],
    ["null", null],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => {
      assert.equal(PkgrCallSchema.safeParse(value).success, false);
    });
  }
  await t.step("PkgrRequestSchema refuses the call frame's keys", () => {
    assert.equal(PkgrRequestSchema.safeParse(ok).success, false);
  });
});

Deno.test("PkgrReplySchema carries the call's id and one envelope", async (t) => {
  const reply = {
    version: 1,
    id: "9",
    envelope: { ok: true, class: "success", code: "ok", message: "notes 1.1.0", data: INFO },
  };
  await t.step("a success reply round-trips", () => {
    assert.deepEqual(PkgrReplySchema.parse(wire(reply)), reply);
  });
  await t.step("a failure reply round-trips", () => {
    const failed = {
      version: 1,
      id: "9",
      envelope: {
        ok: false,
        class: "validation_reject",
        code: "app.not_installed",
        message: "cannot show notes: it is not installed",
      },
    };
    assert.deepEqual(PkgrReplySchema.parse(wire(failed)), failed);
  });
  const bad: [string, unknown][] = [
    ["wrong version", { ...reply, version: 0 }],
    ["no id", { version: 1, envelope: reply.envelope }],
    ["unknown code", { ...reply, envelope: { ...reply.envelope, code: "no.such_code" } }],
    ["extra envelope key", { ...reply, envelope: { ...reply.envelope, extra: 1 } }],
    ["extra key", { ...reply, result: INFO }],
  ];
  for (const [name, value] of bad) {
    await t.step(`rejects: ${name}`, () => {
      assert.equal(PkgrReplySchema.safeParse(value).success, false);
    });
  }
});

const RESULTS: [string, z.ZodType, unknown][] = [
  ["VerifiedBundle", VerifiedBundleSchema, VERIFIED],
  ["OpResult (every step kind)", OpResultSchema, OP],
  ["OpResult (dry-run install, no diff)", OpResultSchema, {
    ...OP,
    op: "install",
    fromVersion: null,
    dryRun: true,
    diff: undefined,
    warnings: [],
  }],
  ["AppInfo", AppInfoSchema, INFO],
  ["AuditEntry", AuditEntrySchema, AUDIT],
  ["QueryHit", QueryHitSchema, HIT],
  ["DoctorReport", DoctorReportSchema, DOCTOR],
  ["InspectReport (failed)", InspectReportSchema, INSPECT],
  ["InspectReport (ok)", InspectReportSchema, { path: "n.nxb", verified: true, bundle: VERIFIED }],
  ["PackResult", PackResultSchema, PACK],
  ["KeygenResult", KeygenResultSchema, KEYGEN],
  ["list data", AppSummaryListSchema, { apps: [{ ...INFO, sku: undefined }].map(summaryOf) }],
  ["history data", AuditEntryListSchema, { entries: [AUDIT] }],
  ["query data", QueryHitListSchema, { hits: [HIT] }],
  ["trust list data", PublisherListSchema, {
    publishers: [{ id: hex(16), name: "dev", enabled: true, allowed_algs: ["ed25519"], keys: [] }],
  }],
];

function summaryOf(info: AppInfo): unknown {
  const { id, version, state, publisher, bundleType, retained, size } = info;
  return { id, version, state, publisher, bundleType, retained, size };
}

Deno.test("result schemas parse representative values and round-trip them", async (t) => {
  for (const [name, schema, value] of RESULTS) {
    await t.step(name, () => {
      const sent = wire(value);
      assert.deepEqual(schema.parse(sent), sent);
    });
  }
});

Deno.test("result schemas reject unknown keys at every depth", async (t) => {
  const cases: [string, z.ZodType, unknown][] = [
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
      files: [{ path: "p", size: 1, sha256: hex(32), mode: 0o644 }],
    }],
    ["VerifiedBundle warning with an unknown code", VerifiedBundleSchema, {
      ...VERIFIED,
      warnings: [{ code: "policy.nope", message: "m" }],
    }],
    ["AppInfo history entry", AppInfoSchema, { ...INFO, history: [{ ...AUDIT, user: "root" }] }],
    ["AppInfo unknown state", AppInfoSchema, { ...INFO, state: "broken" }],
    ["DoctorReport finding", DoctorReportSchema, { ...DOCTOR, findings: [{ ...FINDING, x: 1 }] }],
    ["DoctorReport unknown finding kind", DoctorReportSchema, {
      ...DOCTOR,
      findings: [{ ...FINDING, kind: "cosmic-ray" }],
    }],
    ["PackResult file", PackResultSchema, { ...PACK, files: [{ path: "p", size: 1, sha: "" }] }],
    ["KeygenResult", KeygenResultSchema, { ...KEYGEN, seed: "nope" }],
    ["list data is an object, not the bare array", AppSummaryListSchema, []],
  ];
  for (const [name, schema, value] of cases) {
    await t.step(name, () => {
      assert.equal(schema.safeParse(wire(value)).success, false);
    });
  }
});

/** Every object node of a JSON Schema: any with `properties` must forbid other keys. */
function looseObjects(node: unknown, path = "#"): string[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => looseObjects(n, `${path}/${i}`));
  if (node === null || typeof node !== "object") return [];
  const obj = node as Record<string, unknown>;
  const here = "properties" in obj && obj.additionalProperties !== false ? [path] : [];
  return [
    ...here,
    ...Object.entries(obj).flatMap(([k, v]) => looseObjects(v, `${path}/${k}`)),
  ];
}

Deno.test("every request and result schema is strict in its JSON Schema", async (t) => {
  const all: [string, z.ZodType][] = [
    ["call", PkgrCallSchema],
    ["request", PkgrRequestSchema],
    ...Object.entries(PKGR_REQUEST_SCHEMAS).map(([m, s]) =>
      [`${m} request`, s] as [string, z.ZodType]
    ),
    ...Object.entries(PKGR_RESULT_SCHEMAS).map(([m, s]) =>
      [`${m} result`, s] as [string, z.ZodType]
    ),
    ...RESULTS.map(([name, schema]) => [name, schema] as [string, z.ZodType]),
  ];
  for (const [name, schema] of all) {
    await t.step(name, () => {
      const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
      assert.deepEqual(looseObjects(json), []);
    });
  }
});
