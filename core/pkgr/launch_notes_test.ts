import assert from "node:assert/strict";
import { join } from "node:path";
import { cp } from "node:fs/promises";
import type { NxError } from "../errors.ts";
import { launchApp } from "./launch.ts";
import {
  assertNoCopyLeft,
  code,
  FIXTURES,
  type Installed,
  installInto,
  options,
} from "./_launch_testing.ts";

// The fixture apps' payloads are real programs (fixtures/payload/app.c).
const notesBundle = join(FIXTURES, "bundles", "notes-1.0.0.nxb");

async function installNotes(): Promise<Installed> {
  const copy = join(await Deno.makeTempDir({ prefix: "nx-launch-notes-" }), "notes.nxb");
  await cp(notesBundle, copy, { recursive: true });
  return installInto(copy, "notes");
}

Deno.test("launchApp() of the notes fixture says hello and appends to its launches.log", async () => {
  const app = await installNotes();
  const first = await launchApp(options(app, []));
  const second = await launchApp(options(app, ["a", "b"]));
  assert.equal(first.stdout, "notes 1.0.0: hello\n");
  assert.equal(second.stdout, "notes 1.0.0: hello a b\n");
  assert.equal(
    await Deno.readTextFile(join(app.data, "launches.log")),
    "notes 1.0.0 launched\nnotes 1.0.0 launched a b\n",
  );
  await assertNoCopyLeft(app);
});

Deno.test("launchApp() of the notes fixture: --fail is launch.failed (3), --sleep is cancellable", async () => {
  const app = await installNotes();
  await assert.rejects(launchApp(options(app, ["--fail"])), (e) => {
    assert.equal(code(e), "launch.failed");
    assert.equal((e as NxError).details!.exitCode, 3);
    return true;
  });
  const controller = new AbortController();
  const sleeping = launchApp(options(app, ["--sleep", "600"], { signal: controller.signal }));
  const log = join(app.data, "launches.log");
  while (!(await Deno.readTextFile(log)).includes("--sleep")) {
    await new Promise((r) => setTimeout(r, 10));
  }
  controller.abort();
  await assert.rejects(sleeping, (e) => code(e) === "op.cancelled");
  await assertNoCopyLeft(app);
});
