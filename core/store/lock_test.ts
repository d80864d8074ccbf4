import assert from "node:assert/strict";
import { join } from "node:path";
import { acquireLock } from "./lock.ts";
import { rootPaths } from "./paths.ts";

Deno.test("acquireLock() takes over a dead holder's lock and removes only that holder's temp files", async () => {
  const paths = rootPaths(join(await Deno.makeTempDir({ prefix: "nx-lock-" }), "root"));
  await Deno.mkdir(paths.pkg, { recursive: true });
  const dead = 999_999_991;
  await Deno.writeTextFile(paths.lock, `pid=${dead}\nop=rollback\n`);
  const theirs = join(paths.pkg, `.registry.stamp.${dead}.2.tmp`);
  const other = join(paths.pkg, `.policy.toml.${dead + 1}.1.tmp`);
  await Deno.writeTextFile(theirs, "half");
  await Deno.writeTextFile(other, "someone else's");
  const lock = await acquireLock(paths, "test");
  try {
    assert.equal(lock.staleHolder, dead);
    await assert.rejects(Deno.lstat(theirs), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(other), "someone else's");
  } finally {
    lock.release();
  }
  // A lock released cleanly names no holder: nothing is swept the next time.
  const again = await acquireLock(paths, "test");
  assert.equal(again.staleHolder, undefined);
  again.release();
});

Deno.test("acquireLock() waits out an empty lock file held a moment; one with a pid is busy", async () => {
  const paths = rootPaths(join(await Deno.makeTempDir({ prefix: "nx-lock-" }), "root"));
  await Deno.mkdir(paths.pkg, { recursive: true });
  // Another descriptor's flock on the released (empty) file, as a spawn forked while its
  // parent held the lock keeps it until its exec: dropped 60 ms later.
  await Deno.writeTextFile(paths.lock, "");
  const fork = await Deno.open(paths.lock, { read: true });
  await fork.lock(true);
  setTimeout(() => fork.close(), 60);
  const lock = await acquireLock(paths, "test");
  lock.release();

  // A holder at work (its pid written): lock.busy without waiting.
  const holder = await acquireLock(paths, "holder");
  try {
    await assert.rejects(acquireLock(paths, "test"), (e: Error & { code?: string }) => {
      return e.code === "lock.busy";
    });
  } finally {
    holder.release();
  }
});
