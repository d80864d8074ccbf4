import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import type { ManifestView } from "../bundle/validate.ts";
import type { VerifiedBundle } from "../trust/verify.ts";
import { defaultPolicy, type Policy } from "../trust/policy.ts";
import type { AppRecord } from "../registry/types.ts";
import { versionRecord } from "./records.ts";
import { planInstall, planRollback, planUninstall, type Snapshot } from "./mod.ts";

const NOW = "2026-01-01T00:00:00.000Z";

function bundle(
  version: string,
  extra: Partial<ManifestView> = {},
  trusted = true,
): VerifiedBundle {
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
      resources: [],
      payloadKind: "elf",
      exports: [],
      ...extra,
    },
    scheme: "nx-index",
    signer: { publisher: "a".repeat(32), key: "a".repeat(32), trusted },
    files: [{ path: "payload.elf", size: 10, sha256: "c".repeat(64) }],
    totalSize: 10,
    migrations: [
      { from: "1.0.0", to: "1.1.0", script: "migrations/a.ts" },
      { from: "1.1.0", to: "1.2.0", script: "migrations/b.ts" },
    ],
    warnings: [],
  };
}

function record(versions: string[]): AppRecord {
  const records = versions.map((v) => versionRecord(bundle(v), NOW));
  return {
    id: "notes",
    version: versions[0],
    state: "active",
    publisher: "a".repeat(32),
    bundleType: "app",
    versions: records,
    installedAt: NOW,
    updatedAt: NOW,
  };
}

function snap(
  installed?: AppRecord,
  policy: Partial<Policy> = {},
  extra: Partial<Snapshot> = {},
): Snapshot {
  return {
    policy: { ...defaultPolicy(), ...policy },
    installed,
    apps: new Map(
      installed
        ? [["notes", { version: installed.version, state: "active", dependencies: [] }]]
        : [],
    ),
    appDirExists: installed !== undefined,
    keptData: [],
    dataBytes: 0,
    freeBytes: 1e12,
    now: NOW,
    ...extra,
  };
}

const install = (
  b: VerifiedBundle,
  s: Snapshot,
  op: "install" | "upgrade" = "install",
  allowDowngrade = false,
) => planInstall({ op, txid: "tx", source: "/src", bundle: b, allowDowngrade }, s);

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
  return "ok";
}

Deno.test("planInstall() gates by op, SemVer and policy", async (t) => {
  const cases: [string, () => unknown, string][] = [
    ["fresh install", () => install(bundle("1.0.0"), snap()), "ok"],
    [
      "install of installed",
      () => install(bundle("1.1.0"), snap(record(["1.0.0"]))),
      "app.already_installed",
    ],
    ["upgrade of missing", () => install(bundle("1.1.0"), snap(), "upgrade"), "app.not_installed"],
    [
      "same version",
      () => install(bundle("1.0.0"), snap(record(["1.0.0"])), "upgrade"),
      "upgrade.same_version",
    ],
    [
      "downgrade, no dev-mode",
      () => install(bundle("0.9.0"), snap(record(["1.0.0"])), "upgrade", true),
      "upgrade.downgrade_denied",
    ],
    [
      "downgrade, dev-mode, no flag",
      () => install(bundle("0.9.0"), snap(record(["1.0.0"]), { dev_mode: true }), "upgrade"),
      "upgrade.downgrade_denied",
    ],
    [
      "downgrade, dev-mode and flag",
      () => install(bundle("0.9.0"), snap(record(["1.0.0"]), { dev_mode: true }), "upgrade", true),
      "ok",
    ],
    ["min sdk", () => install(bundle("1.0.0", { minSdk: "2.0.0" }), snap()), "preflight.min_sdk"],
    [
      "user root refuses shell",
      () =>
        install(bundle("1.0.0", { bundleType: "shell" }), snap(undefined, { root_role: "user" })),
      "preflight.bundle_type_denied",
    ],
    [
      "system root takes shell",
      () => install(bundle("1.0.0", { bundleType: "shell" }), snap()),
      "ok",
    ],
    [
      "other publisher",
      () =>
        install(bundle("1.1.0", { publisher: "f".repeat(32) }), snap(record(["1.0.0"])), "upgrade"),
      "preflight.id_collision",
    ],
    [
      "missing dependency",
      () =>
        install(
          bundle("1.0.0", { dependencies: [{ name: "textkit", versionConstraint: "^1.0.0" }] }),
          snap(),
        ),
      "dependency.missing",
    ],
    [
      "quota",
      () =>
        install(
          bundle("1.0.0"),
          snap(undefined, { app_quota_mib: 1 }, { dataBytes: 2 * 1024 * 1024 }),
        ),
      "preflight.quota",
    ],
    [
      "no space",
      () => install(bundle("1.0.0"), snap(undefined, {}, { freeBytes: 100 })),
      "preflight.no_space",
    ],
    [
      "untrusted without dev-mode",
      () => install(bundle("1.0.0", {}, false), snap()),
      "policy.untrusted",
    ],
    [
      "untrusted with dev-mode",
      () => install(bundle("1.0.0", {}, false), snap(undefined, { dev_mode: true })),
      "ok",
    ],
    [
      "too many migration steps",
      () =>
        install(bundle("1.2.0"), snap(record(["1.0.0"]), { migration_max_steps: 1 }), "upgrade"),
      "migration.chain_too_long",
    ],
  ];
  for (const [name, run, code] of cases) await t.step(name, () => assert.equal(codeOf(run), code));
});

Deno.test("planInstall() lays out upgrade steps, migrations, retention and gc", () => {
  const plan = install(
    bundle("1.2.0"),
    snap(record(["1.1.0", "1.0.0"]), { retain_versions: 1 }),
    "upgrade",
  );
  assert.deepEqual(plan.steps.map((s) => s.kind), [
    "stage-version",
    "prepare-data",
    "run-migrations",
    "publish-version",
    "publish-data",
    "switch-current",
    "commit-registry",
  ]);
  const migrate = plan.steps.find((s) => s.kind === "run-migrations");
  assert.deepEqual(migrate?.kind === "run-migrations" && migrate.chain.map((s) => s.to), ["1.2.0"]);
  assert.deepEqual(plan.after?.versions.map((v) => v.version), ["1.2.0", "1.1.0"]);
  assert.deepEqual(plan.post.find((p) => p.kind === "gc-versions"), {
    kind: "gc-versions",
    versions: ["1.0.0"],
  });
});

Deno.test("planInstall() keeps a retained version's own data on a dev-mode downgrade", () => {
  const plan = install(
    bundle("1.0.0"),
    snap(record(["1.1.0", "1.0.0"]), { dev_mode: true }),
    "upgrade",
    true,
  );
  assert.deepEqual(plan.steps.find((s) => s.kind === "prepare-data"), {
    kind: "prepare-data",
    from: "1.0.0",
  });
  assert.ok(plan.steps.some((s) => s.kind === "retire-version"));
  assert.ok(!plan.steps.some((s) => s.kind === "run-migrations"));
});

Deno.test("planRollback() picks the most recent retained version or the one asked for", async (t) => {
  const r = record(["1.2.0", "1.1.0", "1.0.0"]);
  await t.step(
    "default",
    () => assert.equal(planRollback({ txid: "t", appId: "notes" }, snap(r)).toVersion, "1.1.0"),
  );
  await t.step(
    "--to",
    () =>
      assert.equal(
        planRollback({ txid: "t", appId: "notes", to: "1.0.0" }, snap(r)).toVersion,
        "1.0.0",
      ),
  );
  await t.step(
    "not retained",
    () =>
      assert.equal(
        codeOf(() => planRollback({ txid: "t", appId: "notes", to: "0.1.0" }, snap(r))),
        "rollback.version_not_retained",
      ),
  );
  await t.step(
    "nothing retained",
    () =>
      assert.equal(
        codeOf(() => planRollback({ txid: "t", appId: "notes" }, snap(record(["1.0.0"])))),
        "rollback.nothing_retained",
      ),
  );
  await t.step("order after", () => {
    const plan = planRollback({ txid: "t", appId: "notes" }, snap(r));
    assert.deepEqual(plan.after?.versions.map((v) => v.version), ["1.1.0", "1.2.0", "1.0.0"]);
    assert.deepEqual(plan.steps.map((s) => s.kind), ["switch-current", "commit-registry"]);
  });
});

Deno.test("planUninstall() refuses while another app depends on the app", () => {
  const s = snap(record(["1.0.0"]));
  const apps = new Map(s.apps);
  apps.set("reader", {
    version: "1.0.0",
    state: "active",
    dependencies: [{ name: "notes", versionConstraint: "^1.0.0" }],
  });
  assert.equal(
    codeOf(() => planUninstall({ txid: "t", appId: "notes", purge: true }, { ...s, apps })),
    "dependency.required_by",
  );
  assert.deepEqual(planUninstall({ txid: "t", appId: "notes", purge: false }, s).steps, [
    { kind: "detach-app", keepData: true },
    { kind: "commit-registry" },
  ]);
});

Deno.test("planInstall() over kept data: only its own publisher adopts it", async (t) => {
  const owner = (publisher: string) => ({ appId: "notes", publisher, version: "1.0.0" });
  const kept = (publisher?: string): Partial<Snapshot> => ({
    appDirExists: true,
    keptData: ["1.0.0"],
    ...(publisher === undefined ? {} : { keptDataOwner: owner(publisher) }),
  });
  const rogue = { publisher: "f".repeat(32) };
  const cases: [string, () => unknown, string][] = [
    [
      "same publisher adopts",
      () => install(bundle("1.1.0"), snap(undefined, {}, kept("a".repeat(32)))),
      "ok",
    ],
    [
      "another publisher is refused",
      () => install(bundle("1.1.0", rogue), snap(undefined, {}, kept("a".repeat(32)))),
      "preflight.kept_data_foreign",
    ],
    [
      "another publisher, same version, is refused",
      () => install(bundle("1.0.0", rogue), snap(undefined, {}, kept("a".repeat(32)))),
      "preflight.kept_data_foreign",
    ],
    [
      "dev-mode does not lift it",
      () =>
        install(bundle("1.1.0", rogue), snap(undefined, { dev_mode: true }, kept("a".repeat(32)))),
      "preflight.kept_data_foreign",
    ],
    [
      "a record without data on disk is no obstacle",
      () =>
        install(
          bundle("1.1.0", rogue),
          snap(undefined, {}, { keptData: [], keptDataOwner: owner("a".repeat(32)) }),
        ),
      "ok",
    ],
    [
      "data kept before owners were recorded is adopted",
      () => install(bundle("1.1.0", rogue), snap(undefined, {}, kept())),
      "ok",
    ],
  ];
  for (const [name, run, code] of cases) await t.step(name, () => assert.equal(codeOf(run), code));
  await t.step("the adopting plan migrates the kept data forward", () => {
    const plan = install(bundle("1.1.0"), snap(undefined, {}, kept("a".repeat(32))));
    assert.deepEqual(plan.steps.find((s) => s.kind === "prepare-data"), {
      kind: "prepare-data",
      from: "1.0.0",
    });
    assert.ok(plan.steps.some((s) => s.kind === "run-migrations"));
  });
  await t.step("the refusal names both publishers and the kept versions", () => {
    try {
      install(bundle("1.1.0", rogue), snap(undefined, {}, kept("a".repeat(32))));
      assert.fail("expected a refusal");
    } catch (e) {
      assert.ok(e instanceof NxError);
      assert.deepEqual(e.details, {
        appId: "notes",
        keptPublisher: "a".repeat(32),
        bundlePublisher: "f".repeat(32),
        keptVersions: ["1.0.0"],
      });
      assert.ok(e.hint);
    }
  });
});
