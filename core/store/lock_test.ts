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
