import assert from "node:assert/strict";
import { join } from "node:path";
import { registryUrlForFile } from "../../registry/mod.ts";
import { rootPaths } from "../../store/mod.ts";
import { detectMissingRegistry, installedOnDisk } from "./registry_missing.ts";

async function root() {
  const base = await Deno.makeTempDir({ prefix: "nx-regmiss-" });
  const paths = rootPaths(join(base, "root"));
  const outside = join(base, "outside");
  await Deno.mkdir(join(outside, "versions/1.0.0"), { recursive: true });
  await Deno.mkdir(paths.pkg, { recursive: true });
  await Deno.mkdir(join(paths.apps, "notes/versions/1.0.0"), { recursive: true });
  await Deno.mkdir(join(paths.apps, "kept/data/1.0.0"), { recursive: true });
  await Deno.mkdir(join(paths.apps, "bare/versions"), { recursive: true });
  await Deno.symlink(outside, join(paths.apps, "linked"));
  await Deno.mkdir(join(paths.apps, "inner"), { recursive: true });
  await Deno.symlink(join(outside, "versions"), join(paths.apps, "inner/versions"));
  return paths;
}

Deno.test("installedOnDisk() counts real version directories only", async () => {
  const paths = await root();
  // kept data alone, an empty versions/, and links (to the app or its versions/) do not count
  assert.deepEqual(await installedOnDisk(paths), ["notes"]);
  assert.deepEqual(await installedOnDisk(paths, "notes"), []);
});

Deno.test("detectMissingRegistry() flags an absent registry on a root with installs", async () => {
  const paths = await root();
  const url = registryUrlForFile(paths.registryDb);
  assert.deepEqual(await detectMissingRegistry(paths, url), { reason: "absent", apps: ["notes"] });
  assert.equal(await Deno.lstat(paths.registryDb).catch(() => undefined), undefined);
});

Deno.test("detectMissingRegistry() has nothing to say on an empty root", async () => {
  const base = await Deno.makeTempDir({ prefix: "nx-regmiss-" });
  const paths = rootPaths(join(base, "root"));
  assert.equal(await detectMissingRegistry(paths, registryUrlForFile(paths.registryDb)), undefined);
});
