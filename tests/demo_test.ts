import assert from "node:assert/strict";
import { join } from "node:path";
import { nx, tempDir } from "./helpers.ts";

Deno.test("nx demo runs the whole lifecycle on a new root and refuses a used one", async () => {
  const root = join(await tempDir(), "root");
  const r = await nx(["demo", "--json", "--markers"], { root });
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  assert.deepEqual(r.json?.data.steps.map((s: { op: string }) => s.op), [
    "install",
    "upgrade",
    "rollback",
  ]);
  assert.equal(r.json?.data.apps[0].version, "1.0.0");
  for (
    const m of ["pkgr: verified ok", "pkgr: install app=notes v=1.1.0", "pkgr: rollback to=1.0.0"]
  ) {
    assert.ok(r.stderr.split("\n").includes(m), `missing marker ${m}`);
  }
  const again = await nx(["demo", "--json"], { root });
  assert.equal(again.json?.code, "usage.invalid_argument");
});
