import assert from "node:assert/strict";
import { join } from "node:path";
import { rootPaths } from "../../store/mod.ts";
import { confinementProblem } from "./confine.ts";

async function fixture() {
  const base = await Deno.makeTempDir({ prefix: "nx-confine-" });
  const root = join(base, "root");
  const outside = join(base, "outside");
  rootPaths(root); // anchors the root, as every command does
  await Deno.mkdir(join(root, "apps/notes/versions/1.0.0"), { recursive: true });
  await Deno.mkdir(join(outside, "x"), { recursive: true });
  await Deno.writeTextFile(join(root, "apps/notes/versions/1.0.0/f"), "f");
  await Deno.symlink(outside, join(root, "apps/evil"));
  await Deno.symlink("versions/1.0.0", join(root, "apps/notes/current"));
  return { root, outside };
}

Deno.test("confinementProblem() lets a real path of the expected type through", async () => {
  const { root } = await fixture();
  assert.equal(
    await confinementProblem(root, join(root, "apps/notes/versions"), ["dir"]),
    undefined,
  );
  assert.equal(
    await confinementProblem(root, join(root, "apps/notes/versions/1.0.0/f"), ["file"]),
    undefined,
  );
  assert.equal(
    await confinementProblem(root, join(root, "apps/notes/current"), ["symlink"]),
    undefined,
  );
  assert.equal(
    await confinementProblem(root, join(root, "apps/notes/gone"), ["symlink"], { missingOk: true }),
    undefined,
  );
});

Deno.test("confinementProblem() refuses a path that traverses a link", async () => {
  const { root } = await fixture();
  assert.ok(await confinementProblem(root, join(root, "apps/evil/x"), ["dir"]));
  assert.ok(await confinementProblem(root, join(root, "apps/notes/current/f"), ["file"]));
});

Deno.test("confinementProblem() refuses paths outside the root, the root itself and a `..` escape", async () => {
  const { root, outside } = await fixture();
  assert.ok(await confinementProblem(root, outside, ["dir"]));
  assert.ok(await confinementProblem(root, join(outside, "x"), ["dir"]));
  assert.ok(await confinementProblem(root, root, ["dir"]));
  assert.ok(await confinementProblem(root, `${root}/apps/../../outside`, ["dir"]));
});

Deno.test("confinementProblem() refuses an entry whose type changed since the walk", async () => {
  const { root } = await fixture();
  // The link itself is what a link repair removes: a directory now standing there is not.
  assert.ok(await confinementProblem(root, join(root, "apps/notes/versions"), ["symlink"]));
  assert.ok(await confinementProblem(root, join(root, "apps/evil"), ["dir"]));
  assert.ok(await confinementProblem(root, join(root, "apps/notes/gone"), ["dir"]));
});
