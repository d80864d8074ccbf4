/**
 * `nx selftest` through the real CLI: on a trusted local root and on an agent's root over TCP it
 * prints its markers in order (the paid one only where the root trusts the dev store) and leaves the root as it found it; it refuses a root that
 * holds a fixture app (installed, or only its kept data) or does not trust the fixture key; and a
 * broken fixture stops it at that step — the step's marker and every later one absent, the exit
 * code non-zero, the apps it installed removed again.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import {
  FIXTURES,
  flipByte,
  nx,
  packWithDevKey,
  snapshotTree,
  tempDir,
  trustedRoot,
} from "./helpers.ts";
import { Agent, authorizedKeys, newHost, nxOn } from "./_agent.ts";

/** A root that trusts no store key: every marker but the paid app's. */
const FREE_MARKERS = [
  "SELFTEST: pkg install notes v1 ok",
  "SELFTEST: pkg upgrade notes v1.1 ok",
  "SELFTEST: pkg rollback ok",
  "SELFTEST: pkg v1 launch ok",
  "SELFTEST: pkg v1 install ok",
  "SELFTEST: pkg v1 uninstall ok",
];
const MARKERS = [...FREE_MARKERS, "SELFTEST: pkg paid entitlement ok"];

/** A trusted root that also trusts the paid fixture's publisher and the dev store's key. */
async function paidRoot(): Promise<string> {
  const root = await trustedRoot();
  for (
    const argv of [
      ["pkg", "trust", "add", join(FIXTURES, "keys", "store.pub")],
      ["licensed", "trust", "add", join(FIXTURES, "keys", "licensing.pub")],
    ]
  ) {
    const run = await nx(argv, { root });
    assert.equal(run.code, 0, run.stdout + run.stderr);
  }
  return root;
}

/** The SELFTEST lines of a run's stderr, in order. */
const selftestLines = (stderr: string) =>
  stderr.split("\n").filter((l) => l.startsWith("SELFTEST:"));

/** A copy of the fixture bundles (and keys) that a test may break. */
async function fixtureCopy(): Promise<string> {
  const dir = join(await tempDir(), "fixtures");
  await cp(join(FIXTURES, "bundles"), join(dir, "bundles"), { recursive: true });
  await cp(join(FIXTURES, "keys"), join(dir, "keys"), { recursive: true });
  return dir;
}

async function expectNoFixtureApps(root: string): Promise<void> {
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.deepEqual(list.json?.data?.apps ?? list.json?.data, []);
  assert.deepEqual([...(await snapshotTree(join(root, "apps"))).keys()], []);
}

Deno.test("nx selftest runs the scenario on a trusted root and leaves it as it found it", async () => {
  const root = await paidRoot();
  const run = await nx(["selftest", "--markers", "--json"], { root });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(selftestLines(run.stderr), MARKERS);
  assert.deepEqual(
    run.json?.data.steps.filter((s: { marker?: string }) => s.marker).map((s: { marker: string }) =>
      s.marker
    ),
    MARKERS,
  );
  assert.equal(run.json?.data.local, true);
  await expectNoFixtureApps(root);
  // Again on the same root: its paid token, revoked at the end of the first run, is denied.
  const again = await nx(["selftest", "--markers"], { root });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(selftestLines(again.stderr), MARKERS);
  const doctor = await nx(["pkg", "doctor", "--json"], { root });
  assert.equal(doctor.code, 0, doctor.stdout);
  // The audit log is the run's only trace: every step is in it.
  const history = await nx(["pkg", "history", "--json"], { root });
  const ops = history.json?.data.entries.map((e: { op: string; appId?: string }) =>
    `${e.op} ${e.appId}`
  );
  for (
    const op of [
      "install notes",
      "upgrade notes",
      "rollback notes",
      "uninstall reader",
      "install ledger", // the refusal without an entitlement, and the install after the purchase
      "licensed-import ledger",
    ]
  ) {
    assert.ok(ops.includes(op), `${op} in ${ops}`);
  }
});

Deno.test("nx selftest skips the paid steps on a root that trusts no store key: no paid marker", async () => {
  const root = await trustedRoot();
  const run = await nx(["selftest", "--markers", "--json"], { root });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(selftestLines(run.stderr), FREE_MARKERS);
  assert.match(run.stderr, /skipped the paid-app steps/);
  await expectNoFixtureApps(root);
});

Deno.test("nx selftest prints no marker without --markers", async () => {
  const root = await trustedRoot();
  const run = await nx(["selftest"], { root });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(selftestLines(run.stderr), []);
  assert.ok(!run.stdout.includes("SELFTEST:"), run.stdout);
});

Deno.test("nx selftest refuses a root that holds a fixture app, and changes nothing", async (t) => {
  for (
    const [name, setup] of [
      ["installed", ["pkg", "install", join(FIXTURES, "bundles", "textkit-1.0.0.nxb")]],
      ["kept data", ["pkg", "uninstall", "notes"]],
    ] as const
  ) {
    await t.step(name, async () => {
      const root = await trustedRoot();
      if (name === "kept data") {
        await nx(["pkg", "install", join(FIXTURES, "bundles", "notes-1.0.0.nxb")], { root });
      }
      assert.equal((await nx([...setup], { root })).code, 0);
      const before = await snapshotTree(join(root, "apps"));
      const run = await nx(["selftest", "--markers", "--json"], { root });
      assert.equal(run.json?.code, "app.already_installed", run.stdout);
      assert.equal(run.json?.data.details.step, "check the root");
      assert.notEqual(run.code, 0);
      assert.deepEqual(selftestLines(run.stderr), []);
      assert.deepEqual(await snapshotTree(join(root, "apps")), before);
    });
  }
});

Deno.test("nx selftest refuses a root that does not trust the fixture key", async () => {
  const root = join(await tempDir(), "root");
  assert.equal((await nx(["pkg", "init"], { root })).code, 0);
  const run = await nx(["selftest", "--markers", "--json"], { root });
  assert.equal(run.json?.code, "policy.publisher_unknown", run.stdout);
  assert.deepEqual(selftestLines(run.stderr), []);
  await expectNoFixtureApps(root);
});

Deno.test("nx selftest stops at a tampered fixture: no marker from that step on", async () => {
  const fixtures = await fixtureCopy();
  await flipByte(join(fixtures, "bundles", "notes-1.1.0.nxb", "payload.elf"), 100);
  const root = await trustedRoot();
  const run = await nx(["selftest", "--markers", "--fixtures", fixtures, "--json"], { root });
  assert.equal(run.json?.code, "integrity.payload_digest_mismatch", run.stdout);
  assert.equal(run.json?.data.details.step, "upgrade notes to 1.1.0");
  assert.equal(run.code, 3);
  assert.deepEqual(selftestLines(run.stderr), MARKERS.slice(0, 1));
  // The notes it had installed are removed again.
  assert.deepEqual(run.json?.data.details.cleanUp, { removed: ["notes"], failed: [] });
  await expectNoFixtureApps(root);
});

Deno.test("nx selftest fails its check when a signed upgrade does not migrate the data", async () => {
  // A validly signed notes 1.1.0 whose migration leaves the notes as they were: every call
  // succeeds, only the selftest's own data check can tell.
  const fixtures = await fixtureCopy();
  const src = join(await tempDir(), "notes-1.1.0");
  await cp(join(FIXTURES, "src", "notes-1.1.0"), src, { recursive: true });
  await Deno.writeTextFile(
    join(src, "migrations", "1.0.0_to_1.1.0.ts"),
    "await Deno.writeTextFile(`${Deno.args[0]}/schema.json`, JSON.stringify({ version: 2 }));\n",
  );
  const out = join(fixtures, "bundles", "notes-1.1.0.nxb");
  await Deno.remove(out, { recursive: true });
  assert.equal((await packWithDevKey(src, out)).code, 0);
  const root = await trustedRoot();
  const run = await nx(["selftest", "--markers", "--fixtures", fixtures, "--json"], { root });
  assert.equal(run.json?.code, "selftest.failed", run.stdout);
  assert.equal(run.json?.data.details.step, "upgrade notes to 1.1.0");
  assert.match(run.json?.data.details.check, /migrated notes/);
  assert.equal(run.code, 3);
  assert.deepEqual(selftestLines(run.stderr), MARKERS.slice(0, 1));
  await expectNoFixtureApps(root);
});

Deno.test("nx selftest over --transport runs on the agent's root", async () => {
  const root = await paidRoot();
  const host = await newHost();
  await using agent = await Agent.start({ root, authorizedKeys: await authorizedKeys([host]) });
  const run = await nxOn(host, [agent.address], ["selftest", "--markers", "--json"]);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual(selftestLines(run.stderr), MARKERS);
  assert.equal(run.json?.data.local, false);
  await expectNoFixtureApps(root);
});
