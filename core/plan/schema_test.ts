import assert from "node:assert/strict";
import type { ManifestView } from "../bundle/validate.ts";
import type { VerifiedBundle } from "../trust/verify.ts";
import { defaultPolicy } from "../trust/policy.ts";
import type { AppRecord } from "../registry/types.ts";
import { versionRecord } from "./records.ts";
import { planInstall, planRollback, planUninstall, type Snapshot } from "./mod.ts";
import { PlanSchema, TXID } from "./schema.ts";
import type { Plan } from "./types.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const TX = "mbq3x1z0-0a1b2c3d";

function bundle(version: string, extra: Partial<ManifestView> = {}): VerifiedBundle {
  return {
    manifest: {
      schemaVersion: 2,
      name: "notes",
      version,
      abilities: ["notes.open"],
      capabilities: [],
      minSdk: "1.0.0",
      publisher: "a".repeat(32),
      signature: "b".repeat(128),
      payloadDigest: "",
      payloadSize: 10,
      sbomDigest: "",
      reproDigest: "",
      bundleType: "app",
      dependencies: [],
      providedServices: [],
      resources: [{ path: "assets/icon.png", kind: "icon" }],
      payloadKind: "elf",
      exports: [],
      ...extra,
    },
    scheme: "nx-index",
    signer: { publisher: "a".repeat(32), key: "a".repeat(32), trusted: true },
    files: [{ path: "payload.elf", size: 10, sha256: "c".repeat(64) }],
    totalSize: 10,
    migrations: [{ from: "1.0.0", to: "1.1.0", script: "migrations/a.ts" }],
    warnings: [],
  };
}

function record(versions: string[]): AppRecord {
  return {
    id: "notes",
    version: versions[0],
    state: "active",
    publisher: "a".repeat(32),
    bundleType: "app",
    versions: versions.map((v) => versionRecord(bundle(v), NOW)),
    installedAt: NOW,
    updatedAt: NOW,
  };
}

function snap(installed?: AppRecord, extra: Partial<Snapshot> = {}): Snapshot {
  return {
    policy: { ...defaultPolicy(), retain_versions: 1 },
    installed,
    apps: new Map(),
    appDirExists: installed !== undefined,
    keptData: [],
    dataBytes: 0,
    freeBytes: 1e12,
    now: NOW,
    ...extra,
  };
}

const install = (b: VerifiedBundle, s: Snapshot, op: "install" | "upgrade" = "install") =>
  planInstall({ op, txid: TX, source: "/tmp/notes.nxb", bundle: b, allowDowngrade: false }, s);

/** The plan as the journal holds it: JSON (undefined keys dropped). */
const asJson = (plan: Plan) => JSON.parse(JSON.stringify(plan));

Deno.test("PlanSchema accepts every plan the planners make, unchanged", async (t) => {
  const plans: [string, Plan][] = [
    ["install", install(bundle("1.0.0"), snap())],
    [
      "install over kept data",
      install(bundle("1.1.0"), snap(undefined, { appDirExists: true, keptData: ["1.0.0"] })),
    ],
    [
      "upgrade with migrations and gc",
      install(bundle("1.1.0"), snap(record(["1.0.0", "0.9.0"])), "upgrade"),
    ],
    [
      "re-upgrade to a retained version",
      install(bundle("1.1.0"), snap(record(["1.0.0", "1.1.0"])), "upgrade"),
    ],
    ["rollback", planRollback({ txid: TX, appId: "notes" }, snap(record(["1.1.0", "1.0.0"])))],
    [
      "uninstall",
      planUninstall({ txid: TX, appId: "notes", purge: true }, snap(record(["1.0.0"]))),
    ],
    [
      "uninstall --keep-data",
      planUninstall({ txid: TX, appId: "notes", purge: false }, snap(record(["1.0.0"]))),
    ],
  ];
  for (const [name, plan] of plans) {
    await t.step(name, () => assert.deepEqual(PlanSchema.parse(asJson(plan)), asJson(plan)));
  }
});

Deno.test("TXID matches the ids nx generates, from the epoch to 2^53 ms", () => {
  // core/pkgr/service.ts newTxid: `${ms.toString(36)}-${4 random bytes in hex}`.
  for (const ms of [0, Date.parse(NOW), Number.MAX_SAFE_INTEGER]) {
    assert.match(`${ms.toString(36)}-0a1b2c3d`, TXID);
  }
  for (const bad of ["../../../x", "t", "abc-1234567", "ABC-0a1b2c3d", "a-0a1b2c3d/..", ""]) {
    assert.doesNotMatch(bad, TXID);
  }
});

Deno.test("PlanSchema refuses what recovery would turn into a path outside the grammar", async (t) => {
  const base = asJson(install(bundle("1.1.0"), snap(record(["1.0.0", "0.9.0"])), "upgrade"));
  const long = `1.0.0-${"a".repeat(250)}`; // 256 characters: one more than a file name holds
  // deno-lint-ignore no-explicit-any
  type Json = any;
  const edit = (f: (p: Json) => void) => {
    const p = structuredClone(base);
    f(p);
    return p;
  };
  const step = (kind: string) => (p: Json) => p.steps.find((s: Json) => s.kind === kind);
  const cases: [string, Json][] = [
    ["txid traversal", edit((p) => (p.txid = "../../../x"))],
    ["txid of another shape", edit((p) => (p.txid = "tx"))],
    ["appId traversal", edit((p) => (p.appId = "../../x"))],
    ["appId with a slash", edit((p) => (p.appId = "a/b"))],
    ["version traversal", edit((p) => (step("publish-version")(p).version = "../../../../x"))],
    ["version of 256 characters", edit((p) => (step("publish-data")(p).version = long))],
    ["switch-current from traversal", edit((p) => (step("switch-current")(p).from = ".."))],
    ["prepare-data from traversal", edit((p) => (step("prepare-data")(p).from = "../x"))],
    ["gc of a path", edit((p) => (p.post[0].versions = ["../../x"]))],
    ["icon outside the bundle", edit((p) => (p.post[1].icon = "../../../etc/passwd"))],
    ["relative source", edit((p) => (p.source = "notes.nxb"))],
    ["source with NUL", edit((p) => (p.source = "/tmp/a\0b"))],
    ["unknown step kind", edit((p) => p.steps.push({ kind: "frobnicate" }))],
    ["unknown post kind", edit((p) => p.post.push({ kind: "rm-rf" }))],
    ["missing field", edit((p) => delete step("switch-current")(p).from)],
    ["extra step field", edit((p) => (step("commit-registry")(p).path = "/"))],
    ["extra plan field", edit((p) => (p.root = "/"))],
    ["unknown op", edit((p) => (p.op = "purge"))],
    ["record of another app", edit((p) => (p.before.id = "other"))],
    ["record whose active version is not retained", edit((p) => (p.after.version = "9.9.9"))],
    ["record listing a version twice", edit((p) => p.after.versions.push(p.after.versions[0]))],
    ["record with an unsafe file path", edit((p) => (p.after.versions[0].files[0].path = "../x"))],
    ["record with an extra field", edit((p) => (p.after.versions[0].manifest.extra = 1))],
    ["gc of a retained version", edit((p) => (p.post[0].versions = [p.after.version]))],
    ["stage-version without source", edit((p) => delete p.source)],
  ];
  for (const [name, plan] of cases) {
    await t.step(name, () => assert.equal(PlanSchema.safeParse(plan).success, false));
  }
});
