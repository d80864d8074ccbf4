/** `nx pkg pack` and `nx pkg keygen` through the real CLI. */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { diffTrees } from "../fixtures/generate.ts";
import { FIXTURES, nx, snapshotTree, tempDir } from "./helpers.ts";

const DEV_KEY = join(FIXTURES, "keys", "dev.key");

async function source(id = "notes-1.0.0"): Promise<string> {
  const dir = join(await tempDir(), id);
  await cp(join(FIXTURES, "src", id), dir, { recursive: true });
  return dir;
}

async function editToml(src: string, edit: (text: string) => string): Promise<void> {
  const path = join(src, "manifest.toml");
  await Deno.writeTextFile(path, edit(await Deno.readTextFile(path)));
}

Deno.test("pack is deterministic and reproduces the committed fixture", async () => {
  const src = await source("notes-1.1.0");
  const out = await tempDir();
  for (const name of ["a.nxb", "b.nxb"]) {
    const r = await nx(
      ["pack", src, "--key", DEV_KEY, "--out", join(out, name), "--json"].slice(0),
      {},
    );
    assert.equal(r.code, 2, "pack lives under pkg");
    const ok = await nx(
      ["pkg", "pack", src, "--key", DEV_KEY, "--out", join(out, name), "--json"],
      {
        env: { SOURCE_DATE_EPOCH: "0" },
      },
    );
    assert.equal(ok.code, 0, ok.stdout);
  }
  assert.deepEqual(await diffTrees(join(out, "a.nxb"), join(out, "b.nxb")), []);
  assert.deepEqual(
    await diffTrees(join(out, "a.nxb"), join(FIXTURES, "bundles", "notes-1.1.0.nxb")),
    [],
  );
});

Deno.test("SOURCE_DATE_EPOCH changes only the dated records", async () => {
  const src = await source();
  const out = await tempDir();
  for (const [name, epoch] of [["a.nxb", "0"], ["b.nxb", "1700000000"]]) {
    const r = await nx(["pkg", "pack", src, "--key", DEV_KEY, "--out", join(out, name)], {
      env: { SOURCE_DATE_EPOCH: epoch },
    });
    assert.equal(r.code, 0, r.stderr);
  }
  const differs = await diffTrees(join(out, "a.nxb"), join(out, "b.nxb"));
  assert.deepEqual(differs, [
    "manifest.nxb",
    "meta/index.json",
    "meta/index.sig",
    "meta/repro.env.json",
    "meta/sbom.json",
  ]);
});

Deno.test("pack prints the built and signed markers as exact lines", async () => {
  const src = await source();
  const out = join(await tempDir(), "notes.nxb");
  const r = await nx(["pkg", "pack", src, "--key", DEV_KEY, "--out", out, "--markers"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split("\n");
  assert.ok(lines.includes("pkgr: built notes@1.0.0"), r.stderr);
  assert.ok(lines.some((l) => /^pkgr: signed key=[0-9a-f]{32}$/.test(l)), r.stderr);
  const quiet = await nx(["pkg", "pack", src, "--key", DEV_KEY, "--out", out, "--force"]);
  assert.doesNotMatch(quiet.stderr, /pkgr:/);
});

Deno.test("pack rejects bad manifest.toml input with stable codes and writes nothing", async (t) => {
  const cases: [string, (s: string) => string, string][] = [
    ["missing name", (s) => s.replace(/^name = .*$/m, ""), "pack.missing_field"],
    ["missing min_sdk", (s) => s.replace(/^min_sdk = .*$/m, ""), "pack.missing_field"],
    [
      "invalid SemVer",
      (s) => s.replace('version = "1.0.0"', 'version = "1.0"'),
      "manifest.invalid_field",
    ],
    [
      "no ability",
      (s) => s.replace(/^abilities = .*$/m, "abilities = []"),
      "manifest.invalid_field",
    ],
    ["bad payload_kind", (s) => `payload_kind = "wasm"\n${s}`, "pack.invalid_field"],
    [
      "privilege ceiling",
      (s) =>
        s.replace('caps = ["nexus.permission.STORAGE"]', 'caps = ["nexus.permission.SESSION"]'),
      "manifest.privilege_ceiling",
    ],
    [
      "export namespace",
      (s) => s.replace("app.notes.SHARE", "app.other.SHARE"),
      "manifest.export_namespace",
    ],
    [
      "backwards migration",
      (s) => `${s}\n[[migrations]]\nfrom = "2.0.0"\nto = "1.0.0"\nscript = "migrations/x.ts"\n`,
      "pack.invalid_field",
    ],
    [
      "missing resource",
      (s) => s.replace("assets/icon.svg", "assets/nope.svg"),
      "pack.missing_input",
    ],
    ["absolute resource", (s) => s.replace("assets/icon.svg", "/etc/passwd"), "bundle.unsafe_path"],
    ["not TOML", () => "name = = =", "pack.invalid_field"],
  ];
  for (const [name, edit, code] of cases) {
    await t.step(name, async () => {
      const src = await source();
      await editToml(src, edit);
      const outDir = await tempDir();
      const r = await nx([
        "pkg",
        "pack",
        src,
        "--key",
        DEV_KEY,
        "--out",
        join(outDir, "x.nxb"),
        "--json",
      ]);
      assert.equal(r.json?.code, code, r.stdout);
      assert.equal(r.code, 3);
      assert.equal((await snapshotTree(outDir)).size, 0);
    });
  }
});

Deno.test("pack refuses a symlink in the source and an existing output", async () => {
  const src = await source();
  await Deno.symlink("/etc/passwd", join(src, "assets", "link"));
  const r = await nx([
    "pkg",
    "pack",
    src,
    "--key",
    DEV_KEY,
    "--out",
    join(await tempDir(), "x.nxb"),
    "--json",
  ]);
  assert.equal(r.json?.code, "bundle.symlink");
  const clean = await source();
  const out = join(await tempDir(), "x.nxb");
  assert.equal((await nx(["pkg", "pack", clean, "--key", DEV_KEY, "--out", out])).code, 0);
  const again = await nx(["pkg", "pack", clean, "--key", DEV_KEY, "--out", out, "--json"]);
  assert.equal(again.json?.code, "pack.output_exists");
  assert.equal(again.code, 2);
});

Deno.test("pack without --key needs publisher and sig (payload-only)", async () => {
  const src = await source();
  const r = await nx(["pkg", "pack", src, "--out", join(await tempDir(), "x.nxb"), "--json"]);
  assert.equal(r.json?.code, "pack.missing_field");
});

Deno.test("pack refuses a public key passed as --key, pointing at the secret one", async () => {
  const out = join(await tempDir(), "x.nxb");
  const pub = join(FIXTURES, "keys", "dev.pub");
  const r = await nx(["pkg", "pack", await source(), "--key", pub, "--out", out, "--json"]);
  assert.equal(r.json?.code, "key.invalid");
  assert.match(String(r.json?.data?.hint), /NAME\.key/);
  assert.equal(await Deno.stat(out).then(() => true, () => false), false);
});

Deno.test("keygen writes a 0600 secret key and prints the publisher id", async () => {
  const dir = await tempDir();
  const r = await nx(["pkg", "keygen", "--out", dir, "--name", "me", "--json"]);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.json?.data.publisher, /^[0-9a-f]{32}$/);
  assert.equal((await Deno.stat(join(dir, "me.key"))).mode! & 0o777, 0o600);
  assert.match(await Deno.readTextFile(join(dir, "me.pub")), /^-----BEGIN PUBLIC KEY-----/);
  const bad = await nx(["pkg", "keygen", "--out", dir, "--name", "../evil", "--json"]);
  assert.equal(bad.json?.code, "usage.invalid_argument");
});

Deno.test("keys interoperate with OpenSSL where it is installed", async () => {
  const openssl = await new Deno.Command("openssl", {
    args: ["version"],
    stdout: "null",
    stderr: "null",
  })
    .output().catch(() => undefined);
  if (!openssl?.success) return; // interop is a bonus check; the format is pinned by unit tests
  const out = await new Deno.Command("openssl", {
    args: ["pkey", "-in", join(FIXTURES, "keys", "dev.key"), "-pubout"],
    stdout: "piped",
  }).output();
  assert.equal(
    new TextDecoder().decode(out.stdout),
    await Deno.readTextFile(join(FIXTURES, "keys", "dev.pub")),
  );
});
