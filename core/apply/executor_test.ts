import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { Plan } from "../plan/mod.ts";
import { openRegistry, registryUrlForFile } from "../registry/mod.ts";
import { initRoot, rootPaths } from "../store/mod.ts";
import type { ApplyEnv } from "./env.ts";
import { undoBegun } from "./executor.ts";
import { NO_FAULTS } from "./faults.ts";
import { recover } from "./recover.ts";

const TXID = "mbq3x1z0-0a1b2c3d";
/** An upgrade of notes 1.0.0 → 1.1.0 interrupted after switch-current (all three begun). */
const PLAN: Plan = {
  txid: TXID,
  op: "upgrade",
  appId: "notes",
  fromVersion: "1.0.0",
  toVersion: "1.1.0",
  steps: [
    { kind: "publish-version", version: "1.1.0" },
    { kind: "publish-data", version: "1.1.0" },
    { kind: "switch-current", to: "1.1.0", from: "1.0.0" },
  ],
  post: [],
};

/** A root in the state the plan leaves when every step is done; `current` as `blocked` says. */
async function interrupted(blocked: boolean): Promise<ApplyEnv> {
  const paths = rootPaths(join(await Deno.makeTempDir({ prefix: "nx-exec-" }), "root"));
  await initRoot(paths);
  const app = join(paths.apps, "notes");
  for (const dir of ["versions/1.0.0", "versions/1.1.0", "data/1.0.0", "data/1.1.0"]) {
    await Deno.mkdir(join(app, dir), { recursive: true });
  }
  await Deno.mkdir(join(paths.staging, TXID, "version"), { recursive: true });
  if (blocked) {
    // A non-empty directory where the link belongs: rename(2) of the new link over it fails.
    await Deno.mkdir(join(app, "current", "x"), { recursive: true });
  } else {
    await Deno.symlink("versions/1.1.0", join(app, "current"));
  }
  return {
    paths,
    registry: await openRegistry(registryUrlForFile(paths.registryDb)),
    reporter: { emit: () => {} },
    faults: NO_FAULTS,
    runMigrations: () => Promise.reject(new Error("no migrations in this plan")),
  };
}

const present = (path: string) => Deno.lstat(path).then(() => true, () => false);

Deno.test("undoBegun() undoes every begun step in reverse and removes staging", async () => {
  const env = await interrupted(false);
  try {
    await undoBegun(PLAN, [0, 1, 2], env);
    const app = join(env.paths.apps, "notes");
    assert.equal(await Deno.readLink(join(app, "current")), "versions/1.0.0");
    assert.equal(await present(join(app, "versions/1.1.0")), false);
    assert.equal(await present(join(app, "data/1.1.0")), false);
    assert.equal(await present(join(env.paths.staging, TXID)), false);
  } finally {
    env.registry.close();
  }
});

Deno.test("undoBegun() goes on past an undo that fails, keeps staging, and says journal.corrupt", async () => {
  const env = await interrupted(true);
  try {
    const error = await undoBegun(PLAN, [0, 1, 2], env).then(() => undefined, (e) => e);
    assert.ok(error instanceof NxError);
    assert.equal(error.code, "journal.corrupt");
    assert.deepEqual(error.details?.failed, ["switch-current"]);
    // The steps before it in the undo order were still undone.
    const app = join(env.paths.apps, "notes");
    assert.equal(await present(join(app, "versions/1.1.0")), false);
    assert.equal(await present(join(app, "data/1.1.0")), false);
    // Staging may hold what a failed undo could not put back: it stays for doctor to report.
    assert.equal(await present(join(env.paths.staging, TXID)), true);
  } finally {
    env.registry.close();
  }
});

Deno.test("recover() keeps the journal when the undo cannot complete", async () => {
  const env = await interrupted(true);
  try {
    const lines = [
      { format: "nx-journal", version: 1, plan: PLAN },
      ...[0, 1, 2].flatMap((i) => [{ begin: i }, { done: i }]),
    ];
    await Deno.writeTextFile(
      env.paths.journal,
      lines.map((l) => JSON.stringify(l) + "\n").join(""),
    );
    const error = await recover(env).then(() => undefined, (e) => e);
    assert.equal(error instanceof NxError && error.code, "journal.corrupt");
    assert.equal(await present(env.paths.journal), true, "the journal stays for the next command");
    // Once what blocked the undo is gone, the next attempt completes it.
    await Deno.remove(join(env.paths.apps, "notes", "current"), { recursive: true });
    assert.equal((await recover(env))?.outcome, "rolled-back");
    assert.equal(await present(env.paths.journal), false);
    assert.equal(await present(join(env.paths.staging, TXID)), false);
  } finally {
    env.registry.close();
  }
});
