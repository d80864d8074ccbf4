import assert from "node:assert/strict";
import { join } from "node:path";
import { readAll } from "./fs.ts";
import { DirHandle } from "./handles.ts";

async function withFile(bytes: Uint8Array, body: (read: (size: number) => Uint8Array) => void) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(join(dir, "f"), bytes);
    const top = DirHandle.open(dir);
    try {
      body((size) => {
        const file = top.openFile("f");
        try {
          return readAll(file, size);
        } finally {
          file.close();
        }
      });
    } finally {
      top.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readAll() returns the bytes in a buffer of exactly the stated size", async () => {
  const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
  await withFile(bytes, (read) => {
    const got = read(bytes.length);
    assert.deepEqual(got, bytes);
    assert.deepEqual(got.buffer.byteLength, bytes.length);
  });
});

Deno.test("readAll() refuses a file longer than the stated size (it grew)", async () => {
  await withFile(new Uint8Array(10), (read) => {
    assert.throws(() => read(9), /grew/);
  });
  await withFile(new Uint8Array(1), (read) => {
    assert.throws(() => read(0), /grew/);
  });
});

Deno.test("readAll() returns what is there when the file is shorter (it shrank)", async () => {
  await withFile(new Uint8Array([1, 2, 3]), (read) => {
    assert.deepEqual(read(5), new Uint8Array([1, 2, 3]));
  });
});
