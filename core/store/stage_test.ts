import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { readBundle } from "./bundle_reader.ts";
import { copyVerifiedBundle } from "./copy.ts";
import { removeTempsOf } from "./fs.ts";
import { BundleStage, stageAt } from "./stage.ts";

const OLD = new Date("2001-02-03T04:05:06Z");

/** A bundle-shaped directory: files in nested directories (300: more than one sync batch). */
async function bundle(count: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "nx-stage-" });
  for (let i = 0; i < count; i++) {
    const path = join(dir, "assets", `d${i % 5}`, `f${i}.bin`);
    await Deno.mkdir(join(path, ".."), { recursive: true });
    await Deno.writeTextFile(path, `file ${i}\n`.repeat(i % 7 + 1));
    // An old mtime: a write after the read changes it whatever the clock's granularity.
    await Deno.utime(path, OLD, OLD);
  }
  await Deno.writeTextFile(join(dir, "payload.elf"), "payload\n".repeat(1000));
  return dir;
}

/** A root's `pkg` with `staging/tx1` made 0700, as stage-version makes it before staging. */
async function staging(): Promise<{ pkg: string; dir: string; version: string }> {
  const pkg = await Deno.makeTempDir({ prefix: "nx-staging-" });
  const dir = join(pkg, "staging", "tx1");
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return { pkg, dir, version: join(dir, "version") };
}

/** The stage's temp trees left in `pkg` (named like every temp file of this process). */
const temps = (pkg: string) =>
  [...Deno.readDirSync(pkg)].map((e) => e.name).filter((n) => n.startsWith(".staging-tx1."));

/** Reads `src` into a new stage, as an install's verifying read does; returns the read's files. */
async function readStaged(src: string, at: { dir: string; version: string }) {
  const stage = BundleStage.open(src, at);
  const facts = await readBundle(src, () => undefined, stage);
  const files = Object.values(facts.files).map(({ path, size, sha256 }) => ({
    path,
    size,
    sha256,
  }));
  return { stage, files };
}

const inode = (path: string) => Deno.lstatSync(path).ino;

Deno.test("copyVerifiedBundle() adopts what the verifying read staged: the same files, never copied again", async () => {
  const src = await bundle(300);
  const at = await staging();
  const { stage, files } = await readStaged(src, at);
  const before = files.map((f) => inode(join(at.pkg, temps(at.pkg)[0], f.path)));
  const seen: number[] = [];
  await copyVerifiedBundle(src, at.version, files, (done) => seen.push(done));
  assert.deepEqual(files.map((f) => inode(join(at.version, f.path))), before);
  assert.deepEqual(seen, [files.length]);
  for (const f of files) {
    assert.deepEqual(
      await Deno.readFile(join(at.version, f.path)),
      await Deno.readFile(join(src, f.path)),
    );
    assert.equal((Deno.statSync(join(at.version, f.path)).mode! & 0o777).toString(8), "444");
  }
  assert.equal((Deno.statSync(at.version).mode! & 0o777).toString(8), "755");
  assert.deepEqual(temps(at.pkg), []);
  assert.equal(stageAt(at.version), undefined);
  await stage.release(); // adopted: the transaction owns the tree, release leaves it
  assert.ok(Deno.statSync(join(at.version, files[0].path)).isFile);
});

Deno.test("copyVerifiedBundle() refuses a bundle changed after the verifying read with integrity.changed_after_verify and drops the stage", async (t) => {
  const changes: [string, (file: string) => void][] = [
    ["appended to", (f) => Deno.writeTextFileSync(f, "x", { append: true })],
    ["rewritten in place, same size", (f) => {
      const file = Deno.openSync(f, { write: true });
      file.writeSync(new TextEncoder().encode("F"));
      file.close();
    }],
    ["replaced by a file of the same bytes", (f) => {
      const bytes = Deno.readFileSync(f);
      Deno.removeSync(f);
      Deno.writeFileSync(f, bytes);
    }],
    ["swapped for a link", (f) => {
      Deno.removeSync(f);
      Deno.symlinkSync("/etc/hostname", f);
    }],
  ];
  for (const [what, change] of changes) {
    await t.step(what, async () => {
      const src = await bundle(12);
      const at = await staging();
      const { files } = await readStaged(src, at);
      change(join(src, "assets", "d3", "f3.bin"));
      await assert.rejects(
        copyVerifiedBundle(src, at.version, files),
        (e) => e instanceof NxError && e.code === "integrity.changed_after_verify",
      );
      assert.equal(stageAt(at.version), undefined);
      assert.deepEqual(temps(at.pkg), []);
      await assert.rejects(Deno.lstat(at.version), Deno.errors.NotFound);
    });
  }
});

Deno.test("copyVerifiedBundle() copies afresh when the stage holds other files than asked", async () => {
  const src = await bundle(10);
  const at = await staging();
  const { files } = await readStaged(src, at);
  const fewer = files.slice(1);
  await copyVerifiedBundle(src, at.version, fewer);
  assert.equal(stageAt(at.version), undefined);
  await assert.rejects(Deno.lstat(join(at.version, files[0].path)), Deno.errors.NotFound);
  for (const f of fewer) assert.ok(Deno.statSync(join(at.version, f.path)).isFile);
});

Deno.test("BundleStage.release() removes a stage no transaction adopted", async () => {
  const src = await bundle(5);
  const at = await staging();
  {
    await using _stage = (await readStaged(src, at)).stage;
    assert.equal(temps(at.pkg).length, 1);
    // trust: nobody else can look into a stage before it was verified
    assert.equal((Deno.statSync(join(at.pkg, temps(at.pkg)[0])).mode! & 0o777).toString(8), "700");
  }
  assert.deepEqual(temps(at.pkg), []);
  assert.equal(stageAt(at.version), undefined);
});

Deno.test("removeTempsOf() removes the stage a killed holder of the lock left", async () => {
  const src = await bundle(5);
  const at = await staging();
  await readStaged(src, at); // never adopted nor released: as if the process had died here
  assert.equal(temps(at.pkg).length, 1);
  await removeTempsOf(at.pkg, Deno.pid);
  assert.deepEqual(temps(at.pkg), []);
});
