/**
 * Which journal lines are synced on their own (journal.ts): the plan, every `begin` and
 * `committed`; a `done` or `post` line rides on the next synced one. Observed through the
 * fsync fault hook: a failing fsync fails exactly the appends that sync.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { Plan } from "../plan/mod.ts";
import { withIoFaults } from "../store/mod.ts";
import { Journal, readJournal } from "./journal.ts";

const PLAN: Plan = {
  txid: "mbq3x1z0-0a1b2c3d",
  op: "rollback",
  appId: "notes",
  fromVersion: "1.1.0",
  toVersion: "1.0.0",
  steps: [{ kind: "switch-current", to: "1.0.0", from: "1.1.0" }, { kind: "commit-registry" }],
  post: [{ kind: "notify-registry" }, { kind: "purge-staging" }],
};

const EIO_ON_JOURNAL_FSYNC = [{
  op: "fsync" as const,
  error: "EIO" as const,
  pathContains: "journal",
}];

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (e) {
    return e instanceof NxError ? e.code : "not an NxError";
  }
}

Deno.test("Journal.append() syncs begin and committed, and lets done and post ride on the next sync", async (t) => {
  const path = join(await Deno.makeTempDir({ prefix: "nx-journal-sync-" }), "journal");
  const journal = await Journal.create(path, PLAN);
  const failingSync = (entry: Record<string, unknown>) =>
    codeOf(() => withIoFaults(EIO_ON_JOURNAL_FSYNC, () => journal.append(entry)));
  try {
    await t.step("begin is synced before its step runs", async () => {
      assert.equal(await failingSync({ begin: 0 }), "io.failed");
    });
    await t.step("done is written, not synced", async () => {
      assert.equal(await failingSync({ done: 0 }), "ok");
    });
    await journal.append({ begin: 1 });
    await journal.append({ done: 1 });
    await t.step("committed is synced", async () => {
      assert.equal(await failingSync({ committed: true }), "io.failed");
    });
    await t.step("post is written, not synced", async () => {
      assert.equal(await failingSync({ post: 0 }), "ok");
    });
    // Every line reached the file in order, synced or not.
    const state = await readJournal(path);
    assert.deepEqual(
      {
        begun: state?.begun,
        done: state?.done,
        committed: state?.committed,
        post: state?.postDone,
      },
      { begun: [0, 1], done: [0, 1], committed: true, post: [0] },
    );
  } finally {
    journal.close();
  }
});

Deno.test("Journal.create() syncs the plan and the directory entry before it returns", async () => {
  const path = join(await Deno.makeTempDir({ prefix: "nx-journal-sync-" }), "journal");
  assert.equal(
    await codeOf(() => withIoFaults(EIO_ON_JOURNAL_FSYNC, () => Journal.create(path, PLAN))),
    "io.failed",
  );
});
