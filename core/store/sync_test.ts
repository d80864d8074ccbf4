import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { Durable, syncfsReportsErrors, withIoFaults, writeTree } from "./mod.ts";
import { DirHandle, FileHandle, isErrno, using } from "./handles.ts";

function mkfifo(path: string): void {
  assert.equal(new Deno.Command("mkfifo", { args: [path] }).outputSync().code, 0);
}

/** `count` files written in `dir`, open for writing (as Durable holds them). */
function written(dir: DirHandle, count: number): FileHandle[] {
  return Array.from({ length: count }, (_, i) => {
    const file = dir.openFile(`f${i}`, { write: true, create: 0o644, exclusive: true });
    file.writeAll(new TextEncoder().encode(`file ${i}\n`));
    return file;
  });
}

Deno.test("FileHandle.datasyncAll() syncs more files than it runs at once", async () => {
  const top = await Deno.makeTempDir({ prefix: "nx-sync-" });
  using(DirHandle.open(top), (dir) => {
    const files = written(dir, 40);
    try {
      FileHandle.datasyncAll(files, 16);
    } finally {
      for (const f of files) f.close();
    }
  });
  assert.equal(await Deno.readTextFile(join(top, "f39")), "file 39\n");
});

Deno.test("FileHandle.datasyncAll() reports a sync that fails on its thread with its errno, after the others finished", async () => {
  const top = await Deno.makeTempDir({ prefix: "nx-sync-" });
  mkfifo(join(top, "pipe"));
  using(DirHandle.open(top), (dir) => {
    const files = written(dir, 20);
    // fdatasync of a FIFO is EINVAL: queued like the others (open for writing), fails on its own.
    const pipe = dir.openFile("pipe", { write: true });
    files.splice(7, 0, pipe);
    try {
      assert.throws(
        () => FileHandle.datasyncAll(files, 4),
        (e) => isErrno(e, "EINVAL"),
      );
    } finally {
      for (const f of files) f.close();
    }
  });
});

Deno.test("writeTree() fails with io.failed when one file's fsync fails", async () => {
  const out = join(await Deno.makeTempDir({ prefix: "nx-sync-" }), "tree");
  const files = new Map(
    Array.from({ length: 30 }, (_, i) => [`d${i % 3}/f${i}`, new Uint8Array([i])]),
  );
  const fault = [{ op: "fsync" as const, error: "EIO" as const, pathContains: "/f17" }];
  await assert.rejects(
    withIoFaults(fault, () => writeTree(out, files)),
    (e) => e instanceof NxError && e.code === "io.failed",
  );
});

Deno.test("syncfsReportsErrors() holds from Linux 5.8 on", () => {
  for (const r of ["5.8.0", "5.10.0-28-amd64", "6.1.0-57-amd64", "10.0"]) {
    assert.equal(syncfsReportsErrors(r), true, r);
  }
  for (const r of ["5.7.19", "4.19.0-25-amd64", "3.10.0"]) {
    assert.equal(syncfsReportsErrors(r), false, r);
  }
});

/** Descriptors of this process open below `dir` (other tests in the process open their own). */
const openBelow = (dir: string) =>
  [...Deno.readDirSync("/proc/self/fd")].filter((fd) => {
    try {
      return Deno.readLinkSync(`/proc/self/fd/${fd.name}`).startsWith(dir);
    } catch {
      return false; // closed meanwhile
    }
  }).length;

for (const syncfs of [true, false]) {
  const mode = syncfs ? "syncfs" : "fdatasync";

  Deno.test(`Durable (${mode}) keeps the files it was given whole and closes every descriptor`, async () => {
    const top = await Deno.makeTempDir({ prefix: "nx-sync-" });
    using(DirHandle.open(top), (dir) => {
      const durable = new Durable(syncfs);
      durable.dir(top);
      for (const file of written(dir, 300)) durable.fill(file, () => {});
      // syncfs needs one descriptor per file system, fdatasync a batch of them.
      if (syncfs) assert.equal(openBelow(top), 2); // the directory and one anchor
      durable.finish();
    });
    assert.equal(openBelow(top), 0);
    assert.equal(await Deno.readTextFile(join(top, "f299")), "file 299\n");
  });

  Deno.test(`Durable (${mode}) fails on an injected fsync fault of any file it covers`, async () => {
    const top = await Deno.makeTempDir({ prefix: "nx-sync-" });
    const fault = [{ op: "fsync" as const, error: "EIO" as const, pathContains: "/f17" }];
    await withIoFaults(fault, () => {
      using(DirHandle.open(top), (dir) => {
        const durable = new Durable(syncfs);
        for (const file of written(dir, 30)) durable.fill(file, () => {});
        try {
          assert.throws(() => durable.finish(), /Input\/output error.*injected/);
        } finally {
          durable.abandon();
        }
      });
      return Promise.resolve();
    });
  });
}
