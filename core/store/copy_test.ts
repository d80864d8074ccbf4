import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { copyDataTree, copyVerifiedBundle, type ExpectedFile } from "./copy.ts";

/** More files than one sync batch holds, in nested directories. */
async function tree(count: number): Promise<{ dir: string; files: ExpectedFile[] }> {
  const dir = await Deno.makeTempDir({ prefix: "nx-copy-" });
  const files: ExpectedFile[] = [];
  for (let i = 0; i < count; i++) {
    const path = `d${i % 7}/sub${i % 3}/f${i}.txt`;
    const bytes = new TextEncoder().encode(`file ${i}\n`.repeat(i % 5 + 1));
    await Deno.mkdir(join(dir, path, ".."), { recursive: true });
    await Deno.writeFile(join(dir, path), bytes);
    files.push({
      path,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return { dir, files };
}

async function sameBytes(a: string, b: string, files: ExpectedFile[]): Promise<void> {
  for (const f of files) {
    assert.deepEqual(
      await Deno.readFile(join(b, f.path)),
      await Deno.readFile(join(a, f.path)),
      f.path,
    );
  }
}

Deno.test("copyVerifiedBundle() copies more files than one sync batch, read-only", async () => {
  const { dir, files } = await tree(300);
  const out = join(await Deno.makeTempDir(), "version");
  const seen: number[] = [];
  await copyVerifiedBundle(dir, out, files, (done) => seen.push(done));
  await sameBytes(dir, out, files);
  assert.equal(seen.at(-1), 300);
  assert.equal((Deno.statSync(join(out, files[0].path)).mode! & 0o777).toString(8), "444");
});

Deno.test("copyVerifiedBundle() refuses a digest that differs with integrity.changed_after_verify", async () => {
  const { dir, files } = await tree(3);
  const wrong = files.map((f, i) => i === 1 ? { ...f, sha256: "0".repeat(64) } : f);
  await assert.rejects(
    copyVerifiedBundle(dir, join(await Deno.makeTempDir(), "v"), wrong),
    (e) => e instanceof NxError && e.code === "integrity.changed_after_verify",
  );
});

Deno.test("copyDataTree() copies more files than one sync batch with their modes", async () => {
  const { dir, files } = await tree(300);
  await Deno.chmod(join(dir, files[5].path), 0o640);
  const out = join(await Deno.makeTempDir(), "data");
  await copyDataTree(dir, out);
  await sameBytes(dir, out, files);
  assert.equal((Deno.statSync(join(out, files[5].path)).mode! & 0o777).toString(8), "640");
});
