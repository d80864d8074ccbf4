import assert from "node:assert/strict";
import { join } from "node:path";
import { createRoot, removeCreatedRoot, rootExists, rootPaths } from "./mod.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("createRoot() reports the directories it made; removeCreatedRoot() takes exactly those", async (t) => {
  await t.step("a root under missing parents", async () => {
    const base = await Deno.makeTempDir();
    const paths = rootPaths(join(base, "a", "b", "root"));
    const created = await createRoot(paths);
    assert.deepEqual(created, [
      join(base, "a"),
      join(base, "a", "b"),
      paths.root,
      paths.apps,
      paths.pkg,
    ]);
    assert.equal(await rootExists(paths), true);
    assert.equal(await createRoot(paths), undefined, "an existing root is not created again");
    assert.equal(await removeCreatedRoot(paths, created!), true);
    assert.deepEqual(await names(base), []);
  });
  await t.step("an existing empty directory stays, with whatever else it holds", async () => {
    const base = await Deno.makeTempDir();
    await Deno.writeTextFile(join(base, "keep.txt"), "x");
    const paths = rootPaths(base);
    const created = await createRoot(paths);
    assert.deepEqual(created, [paths.apps, paths.pkg]);
    assert.equal(await removeCreatedRoot(paths, created!), true);
    assert.deepEqual(await names(base), ["keep.txt"]);
  });
  await t.step("kept when a journal or an app is there (recovery needs them)", async () => {
    const base = await Deno.makeTempDir();
    const paths = rootPaths(join(base, "root"));
    const created = (await createRoot(paths))!;
    await Deno.writeTextFile(paths.journal, "{}\n");
    assert.equal(await removeCreatedRoot(paths, created), false);
    await Deno.remove(paths.journal);
    await Deno.mkdir(join(paths.apps, "notes"));
    assert.equal(await removeCreatedRoot(paths, created), false);
    assert.equal(await rootExists(paths), true);
  });
});
