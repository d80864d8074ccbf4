import assert from "node:assert/strict";
import { join } from "node:path";
import { appPaths } from "../store/mod.ts";
import { ContentStore, RecentUploads } from "./content_store.ts";
import { fixtureCopy, freshRoot, offerOf, rootWith, tempDir } from "./_testing.ts";

async function uploadDir(): Promise<string> {
  const dir = join(await tempDir(), "upload");
  await Deno.mkdir(dir, { mode: 0o700 });
  return dir;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

Deno.test("fill() copies what a retained version holds and returns the other indices", async () => {
  const { paths } = await rootWith(["notes-1.0.0"]);
  const kept = new Set(
    (await offerOf(appPaths(paths, "notes").version("1.0.0"))).map((f) => f.sha256),
  );
  const bundle = await fixtureCopy("notes-1.1.0");
  const offer = await offerOf(bundle);
  const expectedMissing = offer.flatMap((f, i) => kept.has(f.sha256) ? [] : [i]);
  assert.ok(expectedMissing.length > 0 && expectedMissing.length < offer.length, "a real upgrade");

  const dir = await uploadDir();
  const missing = await new ContentStore({ paths }).fill(offer, dir);

  assert.deepEqual(missing, expectedMissing);
  for (const [i, f] of offer.entries()) {
    if (missing.includes(i)) continue;
    assert.ok(await sameBytes(join(dir, f.path), join(bundle, f.path)), f.path);
    assert.equal((await Deno.stat(join(dir, f.path))).mode! & 0o777, 0o444);
  }
  assert.deepEqual((await offerOf(dir)).length, offer.length - missing.length);
});

Deno.test("fill() counts a retained file that changed on disk as missing", async () => {
  const { paths } = await rootWith(["notes-1.0.0"]);
  const icon = join(appPaths(paths, "notes").version("1.0.0"), "assets/icon.svg");
  await Deno.chmod(icon, 0o644);
  await Deno.writeTextFile(icon, "<svg>not the icon</svg>");
  const offer = await offerOf(await fixtureCopy("notes-1.0.0"));
  const dir = await uploadDir();

  const missing = await new ContentStore({ paths }).fill(offer, dir);

  assert.deepEqual(missing.map((i) => offer[i].path), ["assets/icon.svg"]);
  assert.deepEqual((await offerOf(dir)).map((f) => f.path).includes("assets/icon.svg"), false);
});

Deno.test("fill() never follows a link planted in a retained version", async () => {
  const { paths } = await rootWith(["notes-1.0.0"]);
  const version = appPaths(paths, "notes").version("1.0.0");
  const bundle = await fixtureCopy("notes-1.0.0");
  // Same content, reached through a link: the store must not read it.
  await Deno.chmod(join(version, "assets"), 0o755);
  await Deno.remove(join(version, "assets/icon.svg"));
  await Deno.symlink(join(bundle, "assets/icon.svg"), join(version, "assets/icon.svg"));
  const offer = await offerOf(bundle);

  const missing = await new ContentStore({ paths }).fill(offer, await uploadDir());

  assert.deepEqual(missing.map((i) => offer[i].path), ["assets/icon.svg"]);
});

Deno.test("fill() finds content under another name", async () => {
  const { paths } = await rootWith(["notes-1.0.0"]);
  const bundle = await fixtureCopy("notes-1.0.0");
  const offer = (await offerOf(bundle)).map((f) =>
    f.path === "assets/icon.svg" ? { ...f, path: "assets/renamed.svg" } : f
  );
  const dir = await uploadDir();

  assert.deepEqual(await new ContentStore({ paths }).fill(offer, dir), []);
  assert.ok(await sameBytes(join(dir, "assets/renamed.svg"), join(bundle, "assets/icon.svg")));
});

Deno.test("fill() on a root without apps or registry finds nothing", async () => {
  const offer = await offerOf(await fixtureCopy("notes-1.0.0"));
  const missing = await new ContentStore({ paths: await freshRoot() }).fill(
    offer,
    await uploadDir(),
  );
  assert.deepEqual(missing, offer.map((_, i) => i));
});

Deno.test("RecentUploads keeps the last uploads as sources, within its limits", async (t) => {
  const paths = await freshRoot();
  const bundle = await fixtureCopy("notes-1.0.0");
  const offer = await offerOf(bundle);
  /** An upload dir holding the whole bundle, beside the others (as uploads.ts makes them). */
  const base = await tempDir();
  let n = 0;
  const used = async () => {
    const dir = join(base, `u${n++}`);
    await Deno.mkdir(dir);
    const filled = await new ContentStore({ paths, recent: new RecentUploads() }).fill(offer, dir);
    assert.equal(filled.length, offer.length, "nothing to copy from yet");
    for (const f of offer) {
      await Deno.mkdir(join(dir, f.path, ".."), { recursive: true });
      await Deno.copyFile(join(bundle, f.path), join(dir, f.path));
    }
    return dir;
  };

  await t.step("a kept upload is a source, moved out of the way", async () => {
    const recent = new RecentUploads();
    const dir = await used();
    await recent.keep(dir, offer);
    assert.deepEqual(recent.dirs(), [join(base, "recent", "u0")]);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
    const target = await uploadDir();
    assert.deepEqual(await new ContentStore({ paths, recent }).fill(offer, target), []);
    await recent.clear();
    assert.deepEqual(recent.dirs(), []);
    await assert.rejects(Deno.stat(join(base, "recent", "u0")), Deno.errors.NotFound);
  });

  await t.step("the oldest goes first past the count limit", async () => {
    const recent = new RecentUploads({ uploads: 2, bytes: 1 << 30 });
    const dirs = [await used(), await used(), await used()];
    for (const dir of dirs) await recent.keep(dir, offer);
    assert.deepEqual(recent.dirs(), [join(base, "recent", "u2"), join(base, "recent", "u3")]);
    await assert.rejects(Deno.stat(join(base, "recent", "u1")), Deno.errors.NotFound);
  });

  await t.step("an upload over the byte limit is not kept", async () => {
    const recent = new RecentUploads({ uploads: 2, bytes: 10 });
    const dir = await used();
    await recent.keep(dir, offer);
    assert.deepEqual(recent.dirs(), []);
    await assert.rejects(Deno.stat(dir), Deno.errors.NotFound);
  });
});
