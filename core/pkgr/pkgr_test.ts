import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { CallContext, ProgressEvent } from "../api/mod.ts";
import { parseFaults } from "../apply/mod.ts";
import { NxError } from "../errors.ts";
import { exists, rootPaths } from "../store/mod.ts";
import { createPkgr } from "./pkgr.ts";
import { readPublicKeyText } from "./keys.ts";

const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

async function bundle(id: string): Promise<{ kind: "path"; path: string }> {
  const path = join(await Deno.makeTempDir({ prefix: "nx-pkgr-" }), `${id.split("-")[0]}.nxb`);
  await cp(join(FIXTURES, "bundles", `${id}.nxb`), path, { recursive: true });
  return { kind: "path", path };
}

async function freshRoot() {
  return rootPaths(join(await Deno.makeTempDir({ prefix: "nx-pkgr-" }), "root"));
}

const devKey = () => readPublicKeyText(join(FIXTURES, "keys", "dev.pub"));

function call(now: string, events: ProgressEvent[] = [], signal?: AbortSignal): CallContext {
  return { now: new Date(now), reporter: { emit: (e) => events.push(e) }, signal };
}

function code(e: unknown): string {
  return e instanceof NxError ? e.code : `not an NxError: ${e}`;
}

Deno.test("createPkgr() serves many calls, each with its own time and reporter", async () => {
  const root = await freshRoot();
  const pkgr = createPkgr({ root });
  await pkgr.trustAdd({ publicKey: await devKey(), name: "dev" }, call("2030-01-01T00:00:00Z"));
  const first: ProgressEvent[] = [];
  const second: ProgressEvent[] = [];
  await pkgr.install({ bundle: await bundle("notes-1.0.0") }, call("2030-01-02T00:00:00Z", first));
  await pkgr.uninstall({ app: "notes" }, call("2030-01-03T00:00:00Z", second));
  const history = await pkgr.history({ app: "notes" }, call("2030-01-04T00:00:00Z"));
  assert.deepEqual(history.map((e) => [e.op, e.time]), [
    ["install", "2030-01-02T00:00:00.000Z"],
    ["uninstall", "2030-01-03T00:00:00.000Z"],
  ]);
  const markers = (events: ProgressEvent[]) =>
    events.flatMap((e) => e.kind === "marker" ? [e.text] : []);
  assert.deepEqual(markers(first), [
    "pkgr: verified ok",
    "pkgr: install app=notes v=1.0.0",
    "pkgr: activate current=1.0.0",
  ]);
  assert.deepEqual(markers(second), []);
});

Deno.test("a call cancelled before it starts touches nothing (op.cancelled)", async () => {
  const root = await freshRoot();
  const pkgr = createPkgr({ root });
  const controller = new AbortController();
  controller.abort();
  for (
    const run of [
      () => pkgr.trustAdd({ publicKey: "" }, call("2030-01-01T00:00:00Z", [], controller.signal)),
      async () =>
        pkgr.install(
          { bundle: await bundle("notes-1.0.0") },
          call("2030-01-01T00:00:00Z", [], controller.signal),
        ),
      () => pkgr.doctor({}, call("2030-01-01T00:00:00Z", [], controller.signal)),
    ]
  ) {
    await assert.rejects(run, (e) => code(e) === "op.cancelled");
  }
  assert.equal(await exists(root.root), false, "no root was created");
});

Deno.test("a transaction cancelled between its steps is undone and audited", async () => {
  const root = await freshRoot();
  const pkgr = createPkgr({ root });
  await pkgr.trustAdd({ publicKey: await devKey() }, call("2030-01-01T00:00:00Z"));
  const controller = new AbortController();
  // Cancelled while the bundle is being staged: the next step is never begun.
  const reporter = {
    emit: (e: ProgressEvent) => e.kind === "progress" && controller.abort(),
  };
  await assert.rejects(
    pkgr.install({ bundle: await bundle("notes-1.0.0") }, {
      now: new Date("2030-01-02T00:00:00Z"),
      reporter,
      signal: controller.signal,
    }),
    (e) => code(e) === "op.cancelled",
  );
  assert.equal(controller.signal.aborted, true, "the staging step reported progress");
  const now = call("2030-01-03T00:00:00Z");
  assert.deepEqual(await pkgr.list({}, now), []);
  assert.equal(await exists(join(root.apps, "notes")), false, "create-app-dir was undone");
  assert.equal(await exists(root.journal), false, "the transaction is finished");
  // (The root's own entries, init and trust-add, come first.)
  assert.deepEqual((await pkgr.history({ app: "notes" }, now)).map((e) => [e.op, e.result]), [
    ["install", "op.cancelled"],
  ]);
  assert.equal((await pkgr.doctor({}, now)).ok, true);
});

Deno.test("injected I/O faults hold for their own instance's calls only", async () => {
  const faulty = createPkgr({ root: await freshRoot(), faults: parseFaults("enospc:write") });
  const sound = createPkgr({ root: await freshRoot() });
  const publicKey = await devKey();
  // Both at once, in one process: each call sees only its own instance's faults.
  const [a, b] = await Promise.allSettled([
    faulty.trustAdd({ publicKey }, call("2030-01-01T00:00:00Z")),
    sound.trustAdd({ publicKey }, call("2030-01-01T00:00:00Z")),
  ]);
  assert.equal(a.status === "rejected" && code(a.reason), "io.no_space");
  assert.equal(b.status, "fulfilled");
  assert.equal((await sound.trustList({}, call("2030-01-01T00:00:00Z"))).length, 1);
  // And the faulty instance's faults did not outlive its call: the sound one still writes.
  await sound.policySet({ key: "retain-versions", value: "1" }, call("2030-01-01T00:00:00Z"));
});
