import assert from "node:assert/strict";
import { join } from "node:path";
import { CAPS } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { exists, type ExpectedFile } from "../store/mod.ts";
import { ContentStore } from "./content_store.ts";
import { checkOffer, UploadArea, uploadsDir } from "./uploads.ts";
import {
  callContext,
  fixtureCopy,
  freshRoot,
  neededBytes,
  offerOf,
  pieces,
  rootWith,
} from "./_testing.ts";

const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;
const sha = "0".repeat(64);
const file = (path: string, size = 1): ExpectedFile => ({ path, size, sha256: sha });

Deno.test("checkOffer() refuses what no local bundle directory may be, with its codes", async (t) => {
  const many = Array.from({ length: CAPS.files + 1 }, (_, i) => file(`f${i}`));
  const deep = Array.from({ length: CAPS.depth + 1 }, (_, i) => `d${i}`).join("/");
  const rows: [string, ExpectedFile[], string][] = [
    ["a ../ path", [file("../outside")], "bundle.unsafe_path"],
    ["an absolute path", [file("/etc/passwd")], "bundle.unsafe_path"],
    ["a name with a space", [file("assets/my icon.svg")], "bundle.unsafe_path"],
    ["a path offered twice", [file("a"), file("a")], "agent.invalid_request"],
    ["a file that is also a directory", [file("a"), file("a/b")], "agent.invalid_request"],
    ["too many files", many, "bundle.too_many_files"],
    ["too deep", [file(deep)], "bundle.too_many_files"],
    ["a file over its cap", [file("manifest.nxb", CAPS.manifest + 1)], "bundle.too_large"],
    [
      "a total over the cap",
      Array.from({ length: 5 }, (_, i) => file(`assets/${i}`, CAPS.otherFile)),
      "bundle.too_large",
    ],
  ];
  for (const [name, files, expected] of rows) {
    await t.step(name, () => assert.throws(() => checkOffer(files), (e) => code(e) === expected));
  }
  await t.step("a real bundle passes", async () => {
    checkOffer(await offerOf(await fixtureCopy("notes-1.0.0")));
  });
});

async function area(paths = undefined as Awaited<ReturnType<typeof freshRoot>> | undefined) {
  const root = paths ?? (await rootWith([])).paths;
  return { paths: root, area: new UploadArea(root, new ContentStore({ paths: root })) };
}

Deno.test("an upload received in any chunking is the bundle, and verifies as one", async () => {
  const { paths, pkgr } = await rootWith(["notes-1.0.0"]);
  const uploads = new UploadArea(paths, new ContentStore({ paths }));
  const bundle = await fixtureCopy("notes-1.1.0");
  const offer = await offerOf(bundle);
  const upload = await uploads.begin(offer);
  assert.ok(upload.need.length > 0 && upload.need.length < offer.length);
  assert.equal(upload.dir, join(uploadsDir(paths), upload.id));
  assert.equal((await Deno.stat(upload.dir)).mode! & 0o777, 0o700);

  for (const piece of pieces(await neededBytes(bundle, offer, upload.need), 7)) {
    upload.receive(piece);
  }
  upload.finish();

  assert.deepEqual(await offerOf(upload.dir), offer);
  for (const f of offer) {
    const now = await Deno.stat(join(upload.dir, f.path));
    assert.equal(now.mode! & 0o777, 0o444);
    // copied or received, each file is noted with the digest it was hashed to as written
    if (f.size === 0) continue;
    const noted = upload.written.get(f.path);
    assert.equal(noted?.sha256, f.sha256, f.path);
    assert.equal(noted?.stat.ino, BigInt(now.ino!), f.path);
  }
  const verified = await pkgr.verify({ bundle: { kind: "path", path: upload.dir } }, callContext());
  assert.equal(verified.manifest.version, "1.1.0");
});

Deno.test("bytes that do not match the offer are agent.upload_mismatch", async (t) => {
  const bundle = await fixtureCopy("notes-1.0.0");
  const offer = await offerOf(bundle);
  const start = async () => {
    const { area: uploads } = await area();
    const upload = await uploads.begin(offer);
    assert.equal(upload.need.length, offer.length, "an empty root holds nothing");
    return { upload, bytes: await neededBytes(bundle, offer, upload.need) };
  };

  await t.step("a file whose bytes have another digest", async () => {
    const { upload, bytes } = await start();
    bytes[0] ^= 1;
    assert.throws(() => upload.receive(bytes), (e) => code(e) === "agent.upload_mismatch");
    await upload.discard();
    assert.equal(await exists(upload.dir), false);
  });
  await t.step("more bytes than announced", async () => {
    const { upload, bytes } = await start();
    upload.receive(bytes);
    assert.throws(
      () => upload.receive(new Uint8Array(1)),
      (e) => code(e) === "agent.upload_mismatch",
    );
  });
  await t.step("extra bytes in the frame that ends the upload", async () => {
    const { upload, bytes } = await start();
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    assert.throws(() => upload.receive(longer), (e) => code(e) === "agent.upload_mismatch");
  });
  await t.step("fewer bytes than announced", async () => {
    const { upload, bytes } = await start();
    upload.receive(bytes.subarray(0, bytes.length - 1));
    assert.throws(() => upload.finish(), (e) => code(e) === "agent.upload_mismatch");
  });
});

Deno.test("an upload of empty files needs no bytes for them", async () => {
  const { area: uploads } = await area();
  const empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const upload = await uploads.begin([{ path: "assets/empty", size: 0, sha256: empty }]);
  assert.deepEqual(upload.need, [0]);
  assert.equal(upload.complete, true);
  upload.finish();
  assert.equal((await Deno.readFile(join(upload.dir, "assets/empty"))).length, 0);
});

Deno.test("a used upload is kept as a recent one; leftovers are removed at start", async () => {
  const { paths, area: uploads } = await area();
  const bundle = await fixtureCopy("notes-1.0.0");
  const offer = await offerOf(bundle);
  const first = await uploads.begin(offer);
  first.receive(await neededBytes(bundle, offer, first.need));
  await first.retire();
  assert.equal(await exists(first.dir), false, "its name is gone: no call can use it again");

  const second = await uploads.begin(offer);
  assert.deepEqual(second.need, [], "every byte came from the recent upload");
  const unused = await uploads.begin(offer);

  // A new agent on the same root: nothing of the last one's uploads stays.
  await new UploadArea(paths, new ContentStore({ paths })).removeLeftovers();
  assert.deepEqual([...Deno.readDirSync(uploadsDir(paths))], []);
  assert.equal(await exists(unused.dir), false);
});

Deno.test("an upload to a root that does not exist creates no root", async () => {
  const paths = await freshRoot();
  const uploads = new UploadArea(paths, new ContentStore({ paths }));
  const bundle = await fixtureCopy("notes-1.0.0");
  const offer = await offerOf(bundle);
  const upload = await uploads.begin(offer);
  upload.receive(await neededBytes(bundle, offer, upload.need));
  assert.equal(await exists(paths.root), false);
  assert.deepEqual(await offerOf(upload.dir), offer);
  await upload.retire();
  await uploads.close();
  assert.equal(await exists(upload.dir), false);
  assert.equal(await exists(paths.root), false);
});
