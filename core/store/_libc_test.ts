import assert from "node:assert/strict";
import { statfs } from "node:fs/promises";
import { availableBytes, cString, errno, libc } from "./_libc.ts";

Deno.test("errno() reads the failed call's errno even while the heap is churning", () => {
  // Reading errno through a pointer view made after the call let a collection started by that
  // allocation overwrite it: a few in 1,000,000 failed opens here reported EAGAIN, not ENOENT.
  const missing = cString("/nonexistent-nx-errno-probe/x");
  const seen = new Map<number, number>();
  let churn: unknown[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    assert.equal(libc().openat(-100, missing, 0, 0), -1);
    const e = errno();
    seen.set(e, (seen.get(e) ?? 0) + 1);
    churn.push(new Array(50).fill(i));
    if (churn.length > 2000) churn = [];
  }
  assert.deepEqual([...seen], [[2, 1_000_000]]);
});

Deno.test("availableBytes() reads struct statfs as node:fs does, and a missing path is ENOENT", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The same figure from both readers; other writers on this file system may move it a little
    // between the two calls, so compare at 64 MiB resolution.
    const s = await statfs(dir);
    const mine = availableBytes(dir);
    assert.ok(mine > 0);
    assert.ok(
      Math.abs(mine - s.bavail * s.bsize) < 64 * 2 ** 20,
      `${mine} vs ${s.bavail * s.bsize}`,
    );
    assert.throws(() => availableBytes(`${dir}/missing/x`), { name: "SysError", code: "ENOENT" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
