/** The pure parts of the image build: deb records, the bzImage, modules, the cpio writer. */
import assert from "node:assert/strict";
import { kernelPackageOf, parseStanzas } from "./_apt.ts";
import { bzImagePayload, hasPvhEntry } from "./_bzimage.ts";
import { loadOrder, moduleDepends, moduleName } from "./_modules.ts";
import { newcArchive } from "./_newc.ts";
import { excluded } from "./_tree.ts";

Deno.test("parseStanzas() reads apt-cache show records; kernelPackageOf() the versioned kernel", () => {
  const text = [
    "Package: linux-image-amd64",
    "Version: 6.1.192-3",
    "Depends: linux-image-6.1.0-57-amd64 (= 6.1.192-3)",
    "Description: Linux for 64-bit PCs (meta-package)",
    " This package depends on the latest Linux kernel",
    "",
    "Package: libc6",
    "Version: 2.36-9+deb12u14",
    "Filename: pool/main/g/glibc/libc6_2.36-9+deb12u14_amd64.deb",
    "Size: 2759320",
    "SHA256: ba4f",
    "",
  ].join("\n");
  const [meta, libc] = parseStanzas(text);
  assert.equal(kernelPackageOf(meta), "linux-image-6.1.0-57-amd64");
  assert.match(meta.Description, /\nThis package depends/);
  assert.deepEqual([libc.Package, libc.Size, libc.SHA256], ["libc6", "2759320", "ba4f"]);
  assert.equal(kernelPackageOf({ Depends: "linux-image-6.1.0-57-cloud-amd64" }), undefined);
});

/** A bzImage-shaped buffer: setup header fields and a payload after (setup_sects + 1) sectors. */
function fakeBzImage(payload: Uint8Array, protocol = 0x20f): Uint8Array {
  const setupSects = 3;
  const image = new Uint8Array((setupSects + 1) * 512 + 64 + payload.length);
  const view = new DataView(image.buffer);
  image[0x1f1] = setupSects;
  view.setUint32(0x202, 0x53726448, true); // "HdrS"
  view.setUint16(0x206, protocol, true);
  view.setUint32(0x248, 64, true);
  view.setUint32(0x24c, payload.length, true);
  image.set(payload, (setupSects + 1) * 512 + 64);
  return image;
}

Deno.test("bzImagePayload() finds the compressed kernel the setup header points at", () => {
  const xz = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
  const p = bzImagePayload(fakeBzImage(xz));
  assert.ok(!(p instanceof Error));
  assert.equal(p.compression, "xz");
  assert.deepEqual([...p.bytes], [...xz]);
  const zstd = bzImagePayload(fakeBzImage(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0])));
  assert.equal(!(zstd instanceof Error) && zstd.compression, "zstd");
  assert.ok(bzImagePayload(fakeBzImage(xz, 0x207)) instanceof Error);
  assert.ok(bzImagePayload(new Uint8Array(1024)) instanceof Error);
});

/** A minimal ELF64 with one PT_NOTE holding one note. */
function fakeElf(noteName: string, noteType: number): Uint8Array {
  const name = new TextEncoder().encode(`${noteName}\0`);
  const nameSize = (name.length + 3) & ~3;
  const note = new Uint8Array(12 + nameSize + 4);
  const nv = new DataView(note.buffer);
  nv.setUint32(0, name.length, true);
  nv.setUint32(4, 4, true);
  nv.setUint32(8, noteType, true);
  note.set(name, 12);
  const elf = new Uint8Array(64 + 56 + note.length);
  const v = new DataView(elf.buffer);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
  v.setBigUint64(0x20, 64n, true); // e_phoff
  v.setUint16(0x36, 56, true); // e_phentsize
  v.setUint16(0x38, 1, true); // e_phnum
  v.setUint32(64, 4, true); // PT_NOTE
  v.setBigUint64(64 + 8, 120n, true); // p_offset
  v.setBigUint64(64 + 32, BigInt(note.length), true); // p_filesz
  elf.set(note, 120);
  return elf;
}

Deno.test("hasPvhEntry() looks for Xen's PHYS32_ENTRY note", () => {
  assert.equal(hasPvhEntry(fakeElf("Xen", 18)), true);
  assert.equal(hasPvhEntry(fakeElf("Xen", 17)), false);
  assert.equal(hasPvhEntry(fakeElf("GNU", 18)), false);
  assert.equal(hasPvhEntry(new Uint8Array(100)), false);
});

Deno.test("moduleDepends() reads depends= from the modinfo strings; moduleName() normalises", () => {
  const modinfo = new TextEncoder().encode(
    "\0license=GPL\0softdep=pre: crypto-crc32c\0depends=jbd2,mbcache,crc16\0vermagic=6.1\0",
  );
  assert.deepEqual(moduleDepends(modinfo), ["jbd2", "mbcache", "crc16"]);
  assert.deepEqual(moduleDepends(new TextEncoder().encode("\0depends=\0")), []);
  assert.deepEqual(moduleDepends(new TextEncoder().encode("xdepends=a\0")), []);
  assert.equal(moduleName("crc32c-intel.ko"), "crc32c_intel");
  assert.equal(moduleName("ext4.ko.xz"), "ext4");
});

Deno.test("loadOrder() puts each module after what it depends on", () => {
  const deps: Record<string, string[]> = {
    ext4: ["jbd2", "mbcache", "crc16"],
    jbd2: [],
    mbcache: [],
    crc16: [],
    virtio_blk: ["virtio", "virtio_ring"],
    virtio: [],
    virtio_ring: [],
    a: ["b"],
    b: ["a"],
  };
  assert.deepEqual(loadOrder(["virtio_blk", "ext4"], (n) => deps[n]), [
    "virtio",
    "virtio_ring",
    "virtio_blk",
    "jbd2",
    "mbcache",
    "crc16",
    "ext4",
  ]);
  assert.match(String(loadOrder(["ext4", "nope"], (n) => deps[n])), /nope not found/);
  assert.match(String(loadOrder(["a"], (n) => deps[n])), /cycle a → b → a/);
});

/** Reads a newc archive back: [name, mode, data, rdevmajor, rdevminor] per entry. */
function readNewc(bytes: Uint8Array): [string, number, string, number, number][] {
  const text = new TextDecoder("latin1").decode(bytes);
  const out: [string, number, string, number, number][] = [];
  for (let at = 0;;) {
    assert.equal(text.slice(at, at + 6), "070701", `magic at ${at}`);
    const field = (i: number) => parseInt(text.slice(at + 6 + i * 8, at + 14 + i * 8), 16);
    const nameSize = field(11);
    const name = text.slice(at + 110, at + 110 + nameSize - 1);
    const dataAt = (at + 110 + nameSize + 3) & ~3;
    const data = text.slice(dataAt, dataAt + field(6));
    if (name === "TRAILER!!!") return out;
    out.push([name, field(1), data, field(9), field(10)]);
    at = (dataAt + field(6) + 3) & ~3;
  }
}

Deno.test("newcArchive() writes entries the kernel's unpacker reads, 4-byte aligned", () => {
  const archive = newcArchive([
    { kind: "dir", path: "bin" },
    { kind: "file", path: "bin/busybox", data: new TextEncoder().encode("ELF..."), mode: 0o755 },
    { kind: "symlink", path: "bin/sh", target: "busybox" },
    { kind: "char", path: "dev/console", major: 5, minor: 1 },
    { kind: "file", path: "/init", data: new TextEncoder().encode("#!/bin/sh\n") },
  ]);
  assert.equal(archive.length % 4, 0);
  assert.deepEqual(readNewc(archive), [
    ["bin", 0o040755, "", 0, 0],
    ["bin/busybox", 0o100755, "ELF...", 0, 0],
    ["bin/sh", 0o120777, "busybox", 0, 0],
    ["dev/console", 0o020600, "", 5, 1],
    ["init", 0o100644, "#!/bin/sh\n", 0, 0],
  ]);
});

Deno.test("newcArchive() output is what cpio itself lists (when cpio is installed)", async () => {
  const archive = newcArchive([
    { kind: "dir", path: "etc" },
    { kind: "file", path: "etc/hosts", data: new TextEncoder().encode("127.0.0.1 localhost\n") },
    { kind: "symlink", path: "lib", target: "/nx/sys/lib" },
  ]);
  let child;
  try {
    child = new Deno.Command("cpio", { args: ["-t", "--quiet"], stdin: "piped", stdout: "piped" })
      .spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return; // no oracle on this machine
    throw e;
  }
  const writer = child.stdin.getWriter();
  await writer.write(archive);
  await writer.close();
  const out = await child.output();
  assert.ok(out.success);
  assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), [
    "etc",
    "etc/hosts",
    "lib",
  ]);
});

Deno.test("excluded() keeps tests, build tools and type packages out of the guest", () => {
  for (
    const path of ["core/qemu/vm_test.ts", "cli/usage_test.ts", "node_modules/@esbuild/linux-x64"]
  ) {
    assert.equal(excluded(path), true, path);
  }
  for (
    const path of [
      "node_modules/@types",
      "node_modules/undici-types/x",
      "node_modules/.bin",
      "build/.next-123-4f7e/import_map.json", // a bundle build running meanwhile
    ]
  ) {
    assert.equal(excluded(path), true, path);
  }
  for (
    const path of [
      "core/qemu/vm.ts",
      "node_modules/@libsql/linux-x64-gnu",
      "fixtures/x_test.ts",
      "build/main.js",
    ]
  ) {
    assert.equal(excluded(path), false, path);
  }
  assert.equal(excluded("node_modules/@libsql/linux-x64-musl"), true);
});
