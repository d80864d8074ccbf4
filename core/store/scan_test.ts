import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { DirScan, type ScanEntry, within } from "./scan.ts";

async function tree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "nx-scan-" });
  await Deno.mkdir(join(root, "dir/deeper"), { recursive: true });
  await Deno.writeTextFile(join(root, "dir/deeper/file.txt"), "hello\n");
  await Deno.writeTextFile(join(root, "b.txt"), "b");
  await Deno.writeFile(join(root, "empty"), new Uint8Array());
  await Deno.symlink("/etc", join(root, "a-link"));
  return root;
}

const byName = (entries: ScanEntry[], name: string) => entries.find((e) => e.name === name)!;

Deno.test("DirScan.entries() lists every entry sorted, lstat'ed, without . and ..", async () => {
  const root = await tree();
  within(DirScan.openRoot(root), (d) => {
    const entries = d.entries();
    assert.deepEqual(entries.map((e) => e.name), ["a-link", "b.txt", "dir", "empty"]);
    assert.equal(byName(entries, "a-link").info.type, "symlink");
    assert.equal(byName(entries, "dir").info.type, "dir");
    const b = byName(entries, "b.txt");
    assert.deepEqual([b.info.type, b.info.size, b.info.nlink], ["file", 1, 1]);
    assert.equal(b.info.uid, Deno.lstatSync(join(root, "b.txt")).uid);
    assert.equal(b.info.perm, Deno.lstatSync(join(root, "b.txt")).mode! & 0o7777);
    assert.equal(b.path, join(root, "b.txt"));
  });
});

Deno.test("DirScan.sub() opens a directory and refuses a link or a file", async () => {
  const root = await tree();
  within(DirScan.openRoot(root), (d) => {
    const entries = d.entries();
    assert.equal(d.sub(byName(entries, "a-link")), undefined);
    assert.equal(d.sub(byName(entries, "b.txt")), undefined);
    const names = within(d.sub(byName(entries, "dir")), (sub) => sub.entries().map((e) => e.path));
    assert.deepEqual(names, [join(root, "dir/deeper")]);
  });
});

Deno.test("DirScan.sub() of a directory swapped for a link after the listing is undefined", async () => {
  const root = await tree();
  within(DirScan.openRoot(root), (d) => {
    const entries = d.entries();
    Deno.removeSync(join(root, "dir"), { recursive: true });
    Deno.symlinkSync("/etc", join(root, "dir"));
    assert.equal(d.sub(byName(entries, "dir")), undefined);
  });
});

Deno.test("DirScan.sha256() hashes a file; undefined once it is a link, FIFO or another size", async () => {
  const root = await tree();
  const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => i % 251);
  await Deno.writeFile(join(root, "big"), big);
  within(DirScan.openRoot(root), (d) => {
    const entries = d.entries();
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
    assert.equal(d.sha256(byName(entries, "b.txt")), sha(new TextEncoder().encode("b")));
    assert.equal(d.sha256(byName(entries, "empty")), sha(new Uint8Array()));
    assert.equal(d.sha256(byName(entries, "big")), sha(big));
    assert.equal(d.sha256(byName(entries, "a-link")), undefined);

    Deno.writeTextFileSync(join(root, "b.txt"), "grown");
    assert.equal(d.sha256(byName(entries, "b.txt")), undefined);
    Deno.removeSync(join(root, "empty"));
    assert.equal(d.sha256(byName(entries, "empty")), undefined);
  });
  const fifo = join(root, "fifo");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(made.code, 0);
  within(DirScan.openRoot(root), (d) => {
    const entry = byName(d.entries(), "fifo");
    assert.equal(entry.info.type, "fifo");
    assert.equal(d.sha256(entry), undefined, "a FIFO is never read (and never blocks)");
  });
});

Deno.test("DirScan.readLink() reads a link's target; undefined for a file", async () => {
  const root = await tree();
  within(DirScan.openRoot(root), (d) => {
    const entries = d.entries();
    assert.equal(d.readLink(byName(entries, "a-link")), "/etc");
    assert.equal(d.readLink(byName(entries, "b.txt")), undefined);
  });
});

Deno.test("DirScan keeps names that are not UTF-8 reachable", async () => {
  const root = await Deno.makeTempDir({ prefix: "nx-scan-" });
  // A name of bytes that is not UTF-8, made by a shell (Deno's own calls take only strings).
  const made = await new Deno.Command("sh", {
    args: [
      "-c",
      `mkdir "$1/$(printf 'bad\\377')" && printf x > "$1/$(printf 'bad\\377')/f"`,
      "-",
      root,
    ],
  }).output();
  assert.equal(made.code, 0);
  within(DirScan.openRoot(root), (d) => {
    const [bad] = d.entries();
    assert.equal(bad.name, "bad\uFFFD");
    assert.equal(bad.info.type, "dir");
    const inner = within(d.sub(bad), (sub) => sub.entries().map((e) => [e.name, e.info.size]));
    assert.deepEqual(inner, [["f", 1]]);
  });
});
