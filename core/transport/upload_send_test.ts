import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { silentReporter } from "../api/mod.ts";
import { CAPS } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { createPkgr } from "../pkgr/mod.ts";
import { rootPaths } from "../store/mod.ts";
import {
  checkNeeded,
  describeBundle,
  describeOnce,
  type OfferedFile,
  sendFiles,
  UPLOAD_CHUNK,
} from "./upload_send.ts";

const BUNDLES = new URL("../../fixtures/bundles/", import.meta.url).pathname;

async function fixture(id: string): Promise<string> {
  const dir = join(await Deno.makeTempDir({ prefix: "nx-upload-" }), `${id}.nxb`);
  await cp(join(BUNDLES, `${id}.nxb`), dir, { recursive: true });
  return dir;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The bundle's regular files, found by a plain recursive listing (independent of the reader). */
async function listFiles(dir: string, prefix = ""): Promise<OfferedFile[]> {
  const out: OfferedFile[] = [];
  for await (const entry of Deno.readDir(join(dir, prefix))) {
    const path = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listFiles(dir, path));
    else {
      const bytes = await Deno.readFile(join(dir, path));
      out.push({ path, size: bytes.length, sha256: sha256(bytes) });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The code a local verify on a fresh root ends with for `path`. */
async function localVerifyCode(path: string): Promise<string> {
  const pkgr = createPkgr({ root: rootPaths(join(await Deno.makeTempDir(), "root")) });
  const e = await pkgr.verify({ bundle: { kind: "path", path } }, {
    now: new Date(),
    reporter: silentReporter,
  }).then(() => undefined, (e) => e);
  assert.ok(e instanceof NxError, `local verify of ${path} did not fail with an NxError`);
  return e.code;
}

async function describeCode(path: string): Promise<string> {
  const e = await describeBundle(path).then(() => undefined, (e) => e);
  assert.ok(e instanceof NxError, `describeBundle(${path}) did not fail with an NxError`);
  return e.code;
}

Deno.test("describeBundle() lists every file of the fixture bundles with size and SHA-256", async (t) => {
  for (const id of ["notes-1.0.0", "notes-1.1.0", "textkit-1.0.0", "legacy-1.0.0", "big-1.0.0"]) {
    await t.step(id, async () => {
      const dir = join(BUNDLES, `${id}.nxb`);
      const described = await describeBundle(dir);
      assert.deepEqual(described, await listFiles(dir));
      // and each file the signed index lists is offered with the index's digest
      const index = await Deno.readTextFile(join(dir, "meta/index.json")).then(
        JSON.parse,
        () => undefined,
      );
      for (const entry of index?.files ?? []) {
        assert.deepEqual(described.find((f) => f.path === entry.path), entry);
      }
    });
  }
});

Deno.test("describeBundle() refuses what a local verify refuses, with the same code", async (t) => {
  const cases: [string, (dir: string) => Promise<void>, string][] = [
    [
      "a symlink",
      (dir) => Deno.symlink("../manifest.nxb", join(dir, "assets/link")),
      "bundle.symlink",
    ],
    ["a symlink to a directory", (dir) => Deno.symlink("/etc", join(dir, "etc")), "bundle.symlink"],
    ["a FIFO", async (dir) => {
      const made = await new Deno.Command("mkfifo", { args: [join(dir, "assets/pipe")] }).output();
      assert.ok(made.success);
    }, "bundle.special_file"],
    [
      "a hard link",
      (dir) => Deno.link(join(dir, "payload.elf"), join(dir, "assets/again")),
      "bundle.hardlink",
    ],
    ["too many files", async (dir) => {
      await Deno.mkdir(join(dir, "assets/many"));
      for (let i = 0; i <= CAPS.files; i++) {
        await Deno.writeFile(join(dir, `assets/many/${i}`), new Uint8Array());
      }
    }, "bundle.too_many_files"],
    ["a missing directory", (dir) => Deno.remove(dir, { recursive: true }), "bundle.not_found"],
    ["a file, not a directory", async (dir) => {
      await Deno.remove(dir, { recursive: true });
      await Deno.writeTextFile(dir, "an archive?");
    }, "bundle.not_directory"],
  ];
  for (const [name, spoil, code] of cases) {
    await t.step(name, async () => {
      const dir = await fixture("notes-1.0.0");
      await spoil(dir);
      assert.equal(await describeCode(dir), code);
      assert.equal(await localVerifyCode(dir), code);
    });
  }
});

/** Collects DATA frames. */
function sink() {
  const frames: Uint8Array[] = [];
  return {
    frames,
    sendData: (bytes: Uint8Array) => (frames.push(bytes.slice()), Promise.resolve()),
  };
}

const concat = (parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), at += p.length);
  return out;
};

Deno.test("sendFiles() sends the needed files in order as one run of 256 KiB DATA frames", async () => {
  const dir = await fixture("big-1.0.0");
  const files = await describeBundle(dir);
  const needed = files.map((_, i) => i).filter((i) =>
    i % 2 === 0 || files[i].path === "payload.elf"
  );
  const out = sink();
  const progress: [number, number][] = [];
  await sendFiles(out, dir, files, needed, (done, total) => progress.push([done, total]));
  const expected = concat(
    await Promise.all(needed.map((i) => Deno.readFile(join(dir, files[i].path)))),
  );
  assert.deepEqual(concat(out.frames), expected);
  assert.ok(out.frames.every((f) => f.length === UPLOAD_CHUNK || f === out.frames.at(-1)));
  assert.ok(out.frames.at(-1)!.length <= UPLOAD_CHUNK);
  assert.deepEqual(progress.at(-1), [expected.length, expected.length]);
  assert.equal(progress.length, out.frames.length);
});

Deno.test("sendFiles() sends nothing when nothing is needed, and empty files as no bytes", async () => {
  const dir = await fixture("notes-1.0.0");
  await Deno.writeFile(join(dir, "assets/empty"), new Uint8Array());
  const files = await describeBundle(dir);
  const out = sink();
  await sendFiles(out, dir, files, []);
  assert.equal(out.frames.length, 0);
  await sendFiles(out, dir, files, [files.findIndex((f) => f.path === "assets/empty")]);
  assert.equal(out.frames.length, 0);
});

Deno.test("sendFiles() refuses a file that changed after describeBundle", async (t) => {
  const payload = "payload.elf";
  const cases: [string, (path: string) => Promise<void>][] = [
    ["same size, other bytes", async (path) => {
      const bytes = await Deno.readFile(path);
      bytes[100] ^= 0xff;
      await Deno.writeFile(path, bytes);
    }],
    ["grew", (path) => Deno.writeFile(path, new Uint8Array([1]), { append: true })],
    ["shrank", (path) => Deno.truncate(path, 10)],
    ["replaced by a link", async (path) => {
      const copy = `${path}.elsewhere`;
      await Deno.rename(path, copy);
      await Deno.symlink(copy, path);
    }],
    ["replaced by a FIFO (never blocked on)", async (path) => {
      await Deno.remove(path);
      const made = await new Deno.Command("mkfifo", { args: [path] }).output();
      assert.ok(made.success);
    }],
    ["gone", (path) => Deno.remove(path)],
  ];
  for (const [name, change] of cases) {
    await t.step(name, async () => {
      const dir = await fixture("notes-1.0.0");
      const files = await describeBundle(dir);
      await change(join(dir, payload));
      const out = sink();
      const e = await sendFiles(out, dir, files, [files.findIndex((f) => f.path === payload)])
        .catch((e) => e);
      assert.ok(e instanceof NxError, String(e));
      assert.equal(e.code, "integrity.changed_after_verify");
      assert.equal(e.details?.path, payload);
      // the changed file's last frame never leaves (here: its only one)
      assert.equal(out.frames.length, 0);
    });
  }
});

Deno.test("sendFiles() refuses a directory on the path that became a link", async () => {
  const dir = await fixture("notes-1.0.0");
  const files = await describeBundle(dir);
  await Deno.rename(join(dir, "assets"), join(dir, "assets.real"));
  await Deno.symlink(join(dir, "assets.real"), join(dir, "assets"));
  const e = await sendFiles(sink(), dir, files, [
    files.findIndex((f) => f.path === "assets/icon.svg"),
  ]).catch((e) => e);
  assert.equal(e instanceof NxError && e.code, "integrity.changed_after_verify");
});

Deno.test("describeOnce() reuses a description while the bundle is unchanged, and only then", async (t) => {
  const dir = await fixture("notes-1.0.0");
  const first = await describeOnce(dir);
  assert.deepEqual(first, await describeBundle(dir));
  assert.equal(await describeOnce(dir), first, "the same walk: the same description");
  const changes: [string, (dir: string) => Promise<void>][] = [
    ["a file rewritten, same size", async (dir) => {
      const path = join(dir, "payload.elf");
      const bytes = await Deno.readFile(path);
      bytes[0] ^= 0xff;
      await Deno.writeFile(path, bytes);
      await Deno.utime(path, new Date(2001, 1, 1), new Date(2001, 1, 1)); // whatever the clock
    }],
    ["a file appended to", (dir) =>
      Deno.writeTextFile(join(dir, "assets/icon.svg"), " ", {
        append: true,
      })],
    ["a file added", (dir) => Deno.writeTextFile(join(dir, "assets/new.txt"), "new")],
    ["a file removed", (dir) => Deno.remove(join(dir, "assets/new.txt"))],
  ];
  let last = first;
  for (const [name, change] of changes) {
    await t.step(name, async () => {
      await change(dir);
      const now = await describeOnce(dir);
      assert.notEqual(now, last);
      assert.deepEqual(now, await describeBundle(dir));
      last = now;
    });
  }
  await t.step("a failed description is not kept", async () => {
    const link = join(dir, "assets/link");
    await Deno.symlink("../payload.elf", link);
    await assert.rejects(describeOnce(dir), (e) => e instanceof NxError);
    await Deno.remove(link);
    assert.deepEqual(await describeOnce(dir), await describeBundle(dir));
  });
});

Deno.test("checkNeeded() accepts ascending distinct indices of the offer and refuses the rest", async (t) => {
  checkNeeded([], 0);
  checkNeeded([0, 2, 4], 5);
  for (const needed of [[1, 0], [0, 0], [5], [-1], [0.5], [0, 1, 2, 3, 4, 5]]) {
    await t.step(JSON.stringify(needed), () => {
      assert.throws(
        () => checkNeeded(needed, 5),
        (e) => e instanceof NxError && e.code === "transport.bad_frame",
      );
    });
  }
});
