import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { readBundle } from "./bundle_reader.ts";
import { copyVerifiedBundle } from "./copy.ts";
import { removeTempsOf } from "./fs.ts";
import { openDirAt } from "./anchored.ts";
import { BundleStage, lendTree, stageAt, type WrittenFile } from "./stage.ts";

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

/** A bundle-shaped tree as an agent's upload is: directories 0700, files 0444, lent. */
async function lentBundle(count: number, dir?: string) {
  const src = await bundle(count);
  const tree = dir === undefined ? src : join(await Deno.makeTempDir({ dir }), "upload");
  if (tree !== src) await Deno.rename(src, tree).catch(() => copyTree(src, tree));
  for (const entry of walk(tree)) Deno.chmodSync(entry.path, entry.isFile ? 0o444 : 0o700);
  Deno.chmodSync(tree, 0o700);
  return { src: tree, loan: lendTree(tree) };
}

function* walk(dir: string): Generator<{ path: string; isFile: boolean }> {
  for (const e of Deno.readDirSync(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walk(path);
    yield { path, isFile: e.isFile };
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  const cp = await new Deno.Command("cp", { args: ["-a", "--", from, to] }).output();
  assert.ok(cp.success);
  await Deno.remove(from, { recursive: true });
}

const mode = (path: string) => (Deno.statSync(path).mode! & 0o777).toString(8);

Deno.test("copyVerifiedBundle() adopts a lent tree itself: moved into the transaction, never copied", async () => {
  const { src, loan } = await lentBundle(300);
  const at = await staging();
  const { stage, files } = await readStaged(src, at);
  assert.deepEqual(temps(at.pkg), [], "the verifying read wrote nothing");
  const before = files.map((f) => inode(join(src, f.path)));
  const bytes = files.map((f) => Deno.readFileSync(join(src, f.path)));
  await copyVerifiedBundle(src, at.version, files);
  assert.deepEqual(files.map((f) => inode(join(at.version, f.path))), before);
  assert.deepEqual(files.map((f) => Deno.readFileSync(join(at.version, f.path))), bytes);
  await assert.rejects(Deno.lstat(src), Deno.errors.NotFound);
  assert.equal(loan.taken, true);
  assert.equal(stageAt(at.version), undefined);
  // as a copy's: files 0444, directories 0755 (below the 0700 staging/<txid>)
  for (const f of files) assert.equal(mode(join(at.version, f.path)), "444");
  for (const d of ["", "assets", "assets/d0", "assets/d4"]) {
    assert.equal(mode(join(at.version, d)), "755", d);
  }
  await stage.release(); // adopted: the transaction owns the tree
  assert.ok(Deno.statSync(join(at.version, files[0].path)).isFile);
});

Deno.test("copyVerifiedBundle() refuses a lent tree changed after the read, which stays its lender's", async () => {
  const { src, loan } = await lentBundle(12);
  const at = await staging();
  const { files } = await readStaged(src, at);
  const changed = join(src, "assets", "d3", "f3.bin");
  Deno.chmodSync(changed, 0o644);
  Deno.writeTextFileSync(changed, "x", { append: true });
  await assert.rejects(
    copyVerifiedBundle(src, at.version, files),
    (e) => e instanceof NxError && e.code === "integrity.changed_after_verify",
  );
  assert.equal(loan.taken, false);
  assert.ok(Deno.statSync(changed).isFile, "the lender's tree is left to it");
  await assert.rejects(Deno.lstat(at.version), Deno.errors.NotFound);
  assert.equal(stageAt(at.version), undefined);
});

Deno.test("the read of a lent tree takes the digest its lender noted only for a file unchanged since", async () => {
  const { src } = await lentBundle(6);
  const noted = "f".repeat(64); // not the files' digest: shows which digest the read reported
  const note = (rel: string): [string, WrittenFile] => {
    const dir = openDirAt(join(src, rel, ".."));
    const file = dir.openFile(rel.split("/").at(-1)!);
    try {
      return [rel, { sha256: noted, stat: file.stat() }];
    } finally {
      file.close();
      dir.close();
    }
  };
  const kept = "assets/d1/f1.bin";
  const chmodded = "assets/d2/f2.bin";
  const rewritten = "assets/d3/f3.bin";
  const written = new Map([note(kept), note("payload.elf"), note(chmodded), note(rewritten)]);
  lendTree(src, written);
  Deno.chmodSync(join(src, chmodded), 0o400); // ctime moves: not the file its lender wrote
  Deno.chmodSync(join(src, rewritten), 0o644);
  Deno.writeTextFileSync(join(src, rewritten), "other\n");
  Deno.chmodSync(join(src, rewritten), 0o444);
  const at = await staging();
  const { stage, files } = await readStaged(src, at);
  const digest = (rel: string) => files.find((f) => f.path === rel)!.sha256;
  assert.equal(digest(kept), noted);
  assert.equal(digest("payload.elf"), noted);
  const sha256 = async (rel: string) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", Deno.readFileSync(join(src, rel))))
      .toHex();
  assert.equal(digest(chmodded), await sha256(chmodded));
  assert.equal(digest(rewritten), await sha256(rewritten));
  assert.equal(digest("assets/d4/f4.bin"), await sha256("assets/d4/f4.bin"), "not noted: hashed");
  await stage.release();
});

Deno.test("BundleStage.release() leaves a lent tree no transaction adopted", async () => {
  const { src, loan } = await lentBundle(5);
  const at = await staging();
  {
    await using _stage = (await readStaged(src, at)).stage;
  }
  assert.equal(loan.taken, false);
  assert.equal((await readBundle(src, () => undefined)).entries.length > 5, true);
  assert.deepEqual(temps(at.pkg), []);
});

Deno.test("a revoked loan, or a tree on another file system, is staged by a copy", async (t) => {
  const cases: [string, () => Promise<{ src: string; loan: ReturnType<typeof lendTree> }>][] = [
    ["revoked", async () => {
      const lent = await lentBundle(8);
      lent.loan.revoke();
      return lent;
    }],
  ];
  // /dev/shm is a tmpfs where it exists: another file system than the temp directory's
  const shm = "/dev/shm";
  const devOf = (path: string) => Deno.stat(path).then((s) => s.isDirectory ? s.dev : -1, () => -1);
  const shmDev = await devOf(shm);
  if (shmDev !== -1 && shmDev !== await devOf(await Deno.makeTempDir())) {
    cases.push(["on another file system", () => lentBundle(8, shm)]);
  }
  for (const [what, make] of cases) {
    await t.step(what, async () => {
      const { src, loan } = await make();
      const at = await staging();
      const { files } = await readStaged(src, at);
      const before = files.map((f) => inode(join(src, f.path)));
      await copyVerifiedBundle(src, at.version, files);
      assert.equal(loan.taken, false);
      assert.notDeepEqual(files.map((f) => inode(join(at.version, f.path))), before);
      assert.ok(Deno.statSync(join(src, files[0].path)).isFile, "the tree stays where it was");
      await Deno.remove(src, { recursive: true });
    });
  }
});
