import assert from "node:assert/strict";
import { join } from "node:path";
import { DirHandle, isErrno, using } from "./handles.ts";
import { anchorRoot, openDirAt } from "./anchored.ts";
import { NxError } from "../errors.ts";

async function scratch(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "nx-handles-" });
  await Deno.mkdir(join(dir, "d"));
  await Deno.writeTextFile(join(dir, "d", "f"), "hello");
  await Deno.mkdir(join(dir, "outside"));
  await Deno.writeTextFile(join(dir, "outside", "keep"), "keep");
  return dir;
}

function mkfifo(path: string): void {
  const out = new Deno.Command("mkfifo", { args: [path] }).outputSync();
  assert.equal(out.code, 0);
}

Deno.test("DirHandle.openDir() refuses a link to a directory and a file", async () => {
  const dir = await scratch();
  await Deno.symlink(join(dir, "outside"), join(dir, "link"));
  using(DirHandle.open(dir), (top) => {
    // O_DIRECTORY | O_NOFOLLOW on a link: Linux says ENOTDIR (the link is not a directory).
    assert.throws(() => top.openDir("link"), (e) => isErrno(e, "ELOOP", "ENOTDIR"));
    const d = top.openDir("d");
    assert.throws(() => d.openDir("f"), (e) => isErrno(e, "ENOTDIR"));
    d.close();
  });
});

Deno.test("DirHandle.openFile() never follows a link and never blocks on a FIFO", async () => {
  const dir = await scratch();
  await Deno.symlink(join(dir, "d", "f"), join(dir, "link"));
  mkfifo(join(dir, "pipe"));
  using(DirHandle.open(dir), (top) => {
    assert.throws(() => top.openFile("link"), (e) => isErrno(e, "ELOOP"));
    const pipe = top.openFile("pipe"); // O_NONBLOCK: returns at once
    assert.equal(pipe.stat().type, "fifo");
    pipe.close();
  });
});

Deno.test("DirHandle.openFile() with create+exclusive refuses an existing link instead of writing through it", async () => {
  const dir = await scratch();
  await Deno.symlink(join(dir, "outside", "keep"), join(dir, "link"));
  using(DirHandle.open(dir), (top) => {
    assert.throws(
      () => top.openFile("link", { write: true, create: 0o644, exclusive: true }),
      (e) => isErrno(e, "EEXIST"),
    );
    assert.throws(
      () => top.openFile("link", { write: true, create: 0o644, truncate: true }),
      (e) => isErrno(e, "ELOOP"),
    );
  });
  assert.equal(await Deno.readTextFile(join(dir, "outside", "keep")), "keep");
});

Deno.test("DirHandle.removeTree() removes links as links, never what they point to", async () => {
  const dir = await scratch();
  await Deno.mkdir(join(dir, "victim"));
  await Deno.symlink(join(dir, "outside"), join(dir, "victim", "to-outside"));
  await Deno.symlink(join(dir, "outside", "keep"), join(dir, "victim", "to-file"));
  using(DirHandle.open(dir), (top) => top.removeTree("victim"));
  await assert.rejects(Deno.lstat(join(dir, "victim")));
  assert.equal(await Deno.readTextFile(join(dir, "outside", "keep")), "keep");
});

Deno.test("DirHandle.entries() keeps names that are not valid UTF-8, with their bytes", async () => {
  const dir = await scratch();
  const out = new Deno.Command("sh", { args: ["-c", `touch "$(printf 'bad\\377name')"`], cwd: dir })
    .outputSync();
  assert.equal(out.code, 0);
  using(DirHandle.open(dir), (top) => {
    const bad = top.entries().find((e) => !e.utf8);
    assert.ok(bad, "the invalid name is listed");
    assert.deepEqual([...bad.raw], [
      ...new TextEncoder().encode("bad"),
      0xff,
      ...new TextEncoder().encode("name"),
    ]);
    assert.equal(top.stat(bad.raw)?.type, "file");
    top.unlink(bad.raw);
    assert.equal(top.entries().some((e) => !e.utf8), false);
  });
});

Deno.test("DirHandle names must be one component", async () => {
  const dir = await scratch();
  using(DirHandle.open(dir), (top) => {
    for (const name of ["", ".", "..", "d/f", "a\0b"]) {
      assert.throws(() => top.stat(name), (e) => isErrno(e, "EINVAL"), JSON.stringify(name));
    }
  });
});

Deno.test("openDirAt() below a root refuses a link at any depth with root.unsafe_entry", async () => {
  const dir = await scratch();
  const root = join(dir, "root");
  await Deno.mkdir(join(root, "apps"), { recursive: true });
  await Deno.symlink(join(dir, "outside"), join(root, "apps", "x"));
  anchorRoot(root);
  assert.throws(
    () => openDirAt(join(root, "apps", "x", "versions"), 0o755),
    (e) => e instanceof NxError && e.code === "root.unsafe_entry",
  );
  assert.deepEqual([...Deno.readDirSync(join(dir, "outside"))].map((e) => e.name), ["keep"]);
  // Outside every root, the caller's own path is followed as given.
  await Deno.symlink(join(dir, "outside"), join(dir, "chosen"));
  using(openDirAt(join(dir, "chosen")), (d) => assert.deepEqual(d.list(), ["keep"]));
});
