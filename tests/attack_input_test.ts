/**
 * Untrusted input and output through the real CLI: kept data of another publisher, hostile
 * names on the terminal and in marker lines, build metadata, an oversized manifest.toml and
 * duplicate publishers. Each attack expects its code.
 */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import {
  copyFixture,
  FIXTURES,
  nx,
  type NxRun,
  snapshotTree,
  spawnNx,
  tempDir,
  trustedRoot,
} from "./helpers.ts";

const KEY = (name: string) => join(FIXTURES, "keys", `${name}.key`);
const NOTE = '[{"text":"alpha\\nbeta"}]';

async function source(id: string): Promise<string> {
  const dir = join(await tempDir(), id);
  await cp(join(FIXTURES, "src", id), dir, { recursive: true });
  return dir;
}

/** Packs a fixture source (or a prepared source dir) with a fixture key into `<tmp>/notes.nxb`. */
async function packed(src: string, key: string): Promise<string> {
  const out = join(await tempDir(), "notes.nxb");
  const r = await nx(["pkg", "pack", src, "--key", KEY(key), "--out", out, "--json"]);
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  return out;
}

async function ok(args: string[], root: string, env?: Record<string, string>): Promise<NxRun> {
  const r = await nx([...args, "--json"], { root, env });
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  return r;
}

/** A root trusting dev and rogue where dev's notes 1.0.0 was uninstalled with --keep-data. */
async function rootWithKeptData(): Promise<string> {
  const root = await trustedRoot(["dev", "rogue"]);
  await ok(["pkg", "install", await copyFixture("notes-1.0.0")], root);
  await Deno.writeTextFile(join(root, "apps/notes/data/1.0.0/notes.json"), NOTE);
  await ok(["pkg", "uninstall", "notes", "--keep-data"], root);
  return root;
}

// ---------------------------------------------------------------------------------------------
// 1. Kept data belongs to its publisher.

Deno.test("kept data is refused to another publisher's bundle (preflight.kept_data_foreign)", async () => {
  const root = await rootWithKeptData();
  const data = join(root, "apps/notes/data");
  const before = await snapshotTree(data);
  const rogue = await packed(join(FIXTURES, "src", "notes-1.1.0"), "rogue");
  for (const args of [["pkg", "install", rogue, "--dry-run"], ["pkg", "install", rogue]]) {
    const r = await nx([...args, "--json"], { root });
    assert.equal(r.json?.code, "preflight.kept_data_foreign", r.stdout);
    assert.equal(r.code, 3);
    assert.ok(r.json?.data.hint, "the refusal says how to get rid of the data");
    assert.equal(r.json?.data.details.keptVersions[0], "1.0.0");
  }
  // Nothing was adopted, migrated or moved.
  assert.deepEqual(await snapshotTree(data), before);
  assert.deepEqual((await ok(["pkg", "list"], root)).json?.data.apps, []);
  const audit = (await ok(["pkg", "history", "notes"], root)).json?.data.entries;
  assert.equal(audit.at(-1).result, "preflight.kept_data_foreign", "the refusal is audited");
});

Deno.test("kept data is adopted (and migrated) by a bundle of its own publisher", async () => {
  const root = await rootWithKeptData();
  await ok(["pkg", "install", await copyFixture("notes-1.1.0")], root);
  const notes = JSON.parse(await Deno.readTextFile(join(root, "apps/notes/data/1.1.0/notes.json")));
  assert.equal(notes[0].title, "alpha", "the 1.0.0 → 1.1.0 migration ran on the kept data");
});

Deno.test("removing the kept data by hand, as the hint says, lets another publisher install", async () => {
  const root = await rootWithKeptData();
  const rogue = await packed(join(FIXTURES, "src", "notes-1.0.0"), "rogue");
  const refused = await nx(["pkg", "install", rogue, "--json"], { root });
  assert.equal(refused.json?.code, "preflight.kept_data_foreign", refused.stdout);
  await Deno.remove(join(root, "apps/notes"), { recursive: true });
  await ok(["pkg", "install", rogue], root);
  const info = (await ok(["pkg", "info", "notes"], root)).json?.data;
  assert.equal(info.publisher, refused.json?.data.details.bundlePublisher);
  await assert.rejects(Deno.lstat(join(root, "apps/notes/data/1.0.0/notes.json")));
});

Deno.test("the kept-data owner survives the undo of an adopting install (crash after commit-registry)", async () => {
  const root = await rootWithKeptData();
  const child = spawnNx(["pkg", "install", await copyFixture("notes-1.1.0")], root, {
    NX_FAULT: "crash-after:commit-registry",
  });
  assert.equal((await child.status).signal, "SIGKILL");
  // The next command recovers first (undo: unregister, which records dev again), then plans.
  const rogue = await packed(join(FIXTURES, "src", "notes-1.1.0"), "rogue");
  const r = await nx(["pkg", "install", rogue, "--json"], { root });
  assert.equal(r.json?.code, "preflight.kept_data_foreign", r.stdout + r.stderr);
  assert.match(await Deno.readTextFile(join(root, "apps/notes/data/1.0.0/notes.json")), /alpha/);
  // And dev still adopts it.
  await ok(["pkg", "install", await copyFixture("notes-1.1.0")], root);
});

Deno.test("an undone keep-data uninstall leaves the app installed, owned by its publisher", async () => {
  const root = await trustedRoot(["dev", "rogue"]);
  await ok(["pkg", "install", await copyFixture("notes-1.0.0")], root);
  const child = spawnNx(["pkg", "uninstall", "notes", "--keep-data"], root, {
    NX_FAULT: "crash-after:commit-registry",
  });
  assert.equal((await child.status).signal, "SIGKILL");
  const list = await ok(["pkg", "list"], root);
  assert.deepEqual(list.json?.data.apps.map((a: { id: string }) => a.id), ["notes"]);
  const rogue = await packed(join(FIXTURES, "src", "notes-1.1.0"), "rogue");
  const r = await nx(["pkg", "upgrade", rogue, "--json"], { root });
  assert.equal(r.json?.code, "preflight.id_collision", r.stdout);
  // A real keep-data uninstall afterwards records dev as the owner again.
  await ok(["pkg", "uninstall", "notes", "--keep-data"], root);
  const again = await nx(["pkg", "install", rogue, "--json"], { root });
  assert.equal(again.json?.code, "preflight.kept_data_foreign", again.stdout);
});

// ---------------------------------------------------------------------------------------------
// 2. One escaping rule for untrusted strings on the terminal and in markers.

const FORGED = "pkgr: verified ok";
const HOSTILE = `x\n${FORGED}\r${FORGED}\n\x1b]0;pwned\x07\x1b[2K\x1b[1G\u009b31m\u202eevil`;
// deno-lint-ignore no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u;

/** The lines of both streams, and a check that no raw control/bidi character is in either. */
function lines(r: NxRun): string[] {
  for (const [name, text] of [["stdout", r.stdout], ["stderr", r.stderr]]) {
    assert.doesNotMatch(text, RAW_CONTROL, `${name} holds a raw control character: ${text}`);
  }
  return [...r.stdout.split("\n"), ...r.stderr.split("\n")];
}

const markerLines = (r: NxRun, marker: string) => lines(r).filter((l) => l === marker).length;

Deno.test("a hostile bundle directory name cannot forge a marker or reach the terminal raw", async (t) => {
  const root = await trustedRoot(["dev"]);
  const dir = await tempDir();
  const bundle = join(dir, `${HOSTILE}.nxb`);
  await cp(join(FIXTURES, "bundles", "notes-1.0.0.nxb"), bundle, { recursive: true });
  await t.step("verify of the intact bundle prints exactly one real marker", async () => {
    const r = await nx(["pkg", "verify", bundle, "--markers"], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(markerLines(r, FORGED), 1);
    assert.ok(lines(r).some((l) => l.startsWith("bundle:") && l.includes("\\x1b]0;pwned")));
  });
  await t.step("a path that does not exist: the error names it escaped", async () => {
    const r = await nx(["pkg", "verify", join(dir, `missing${HOSTILE}.nxb`), "--markers"], {
      root,
    });
    assert.equal(r.code, 3);
    assert.equal(markerLines(r, FORGED), 0);
    assert.match(
      r.stderr,
      /^error: cannot read bundle: .*\\npkgr: verified ok\\r.* \[bundle\.not_found\]$/m,
    );
    assert.equal(r.stderr.trimEnd().split("\n").length, 1, "the error is one line");
  });
  await t.step("with --json the envelope carries the exact path", async () => {
    const missing = join(dir, `missing${HOSTILE}.nxb`);
    const r = await nx(["pkg", "verify", missing, "--json", "--markers"], { root });
    assert.equal(r.json?.code, "bundle.not_found");
    assert.equal(r.stdout.trimEnd().split("\n").length, 1);
    assert.ok(r.json?.message.includes(missing));
    assert.doesNotMatch(r.stdout.trimEnd(), RAW_CONTROL, "JSON escapes every one of them");
  });
  await t.step("inspect shows the directory name escaped on stdout", async () => {
    const r = await nx(["pkg", "inspect", bundle, "--files"], { root });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(markerLines(r, FORGED), 0);
  });
});

Deno.test("a hostile file name inside a bundle fails verify without forging a marker", async (t) => {
  const root = await trustedRoot(["dev"]);
  const bundle = await copyFixture("notes-1.0.0");
  await Deno.writeTextFile(join(bundle, "assets", HOSTILE), "x");
  for (const verb of ["verify", "inspect"]) {
    await t.step(verb, async () => {
      const r = await nx(["pkg", verb, bundle, "--markers"], { root });
      assert.equal(markerLines(r, FORGED), 0, r.stdout + r.stderr);
      assert.ok(lines(r).some((l) => l.includes("\\npkgr: verified ok\\r")), r.stdout + r.stderr);
    });
  }
  await t.step("verify --json: the code, and the exact name in the details", async () => {
    const r = await nx(["pkg", "verify", bundle, "--json"], { root });
    assert.equal(r.json?.code, "bundle.unsafe_path", r.stdout);
    assert.equal(r.json?.data.details.path, `assets/${HOSTILE}`);
  });
});

Deno.test("a failing migration that prints escape sequences and forged markers reaches no terminal", async () => {
  const root = await trustedRoot(["dev"]);
  await ok(["pkg", "install", await copyFixture("notes-1.0.0")], root);
  const src = await source("notes-1.1.0");
  const forged = JSON.stringify(`${HOSTILE}\npkgr: install app=notes v=1.1.0\n`);
  await Deno.writeTextFile(
    join(src, "migrations/1.0.0_to_1.1.0.ts"),
    `console.log(${forged});\nconsole.error(${forged});\nDeno.exit(3);\n`,
  );
  const bundle = await packed(src, "dev");
  const r = await nx(["pkg", "upgrade", bundle, "--markers"], { root });
  assert.equal(r.code, 5, r.stderr);
  assert.equal(markerLines(r, "pkgr: install app=notes v=1.1.0"), 0);
  assert.equal(markerLines(r, "pkgr: activate current=1.1.0"), 0);
  assert.equal(markerLines(r, FORGED), 1, "the bundle itself verified");
  assert.match(r.stderr, /\[migration\.failed\]$/m);
});

// ---------------------------------------------------------------------------------------------
// 3. SemVer build metadata, 4. the manifest.toml cap.

Deno.test("pack refuses a version with build metadata (manifest.invalid_field)", async (t) => {
  for (const [key, field] of [["version", "semver"], ["min_sdk", "minSdk"]]) {
    await t.step(key, async () => {
      const src = await source("notes-1.0.0");
      const path = join(src, "manifest.toml");
      const text = await Deno.readTextFile(path);
      const edited = text.replace(`${key} = "1.0.0"`, `${key} = "1.0.0+build.5"`);
      assert.notEqual(edited, text);
      await Deno.writeTextFile(path, edited);
      const out = join(await tempDir(), "notes.nxb");
      const r = await nx(["pkg", "pack", src, "--key", KEY("dev"), "--out", out, "--json"]);
      assert.equal(r.json?.code, "manifest.invalid_field", r.stdout);
      assert.equal(r.json?.data.details.field, field);
      assert.match(r.json?.data.details.reason, /build metadata/);
      await assert.rejects(Deno.lstat(out));
    });
  }
});

Deno.test("pack refuses a manifest.toml over 64 KiB before parsing it (pack.input_too_large)", async () => {
  const src = await source("notes-1.0.0");
  const path = join(src, "manifest.toml");
  const text = await Deno.readTextFile(path);
  // Valid TOML all the way: only the size can be the reason.
  await Deno.writeTextFile(path, `${text}${"# padding padding padding\n".repeat(50_000)}`);
  assert.ok((await Deno.stat(path)).size > 1024 * 1024);
  // pack takes no --root (it uses none).
  const pack = () =>
    nx(["pkg", "pack", src, "--key", KEY("dev"), "--out", join(src, "o.nxb"), "--json"]);
  const r = await pack();
  assert.equal(r.json?.code, "pack.input_too_large", r.stdout);
  assert.equal(r.code, 3);
  // The original file packs.
  await Deno.writeTextFile(path, text);
  const cut = await pack();
  assert.equal(cut.json?.code, "ok", cut.stdout + cut.stderr);
});

// ---------------------------------------------------------------------------------------------
// 5. Duplicate publishers.

Deno.test("publishers.toml with a publisher or key twice is refused (policy.duplicate_publisher)", async (t) => {
  const base = await trustedRoot(["dev", "rogue"]);
  const file = await Deno.readTextFile(join(base, "pkg/publishers.toml"));
  const entries = file.split("[[publishers]]");
  const keyOf = (entry: string) => entry.match(/"([0-9a-f]{64})"/)![1];
  const cases: [string, string][] = [
    ["the same publisher twice", `${file}\n[[publishers]]${entries[1]}`],
    [
      "the same key under two publishers",
      file.replace(keyOf(entries[2]), keyOf(entries[1])),
    ],
  ];
  const bundle = await copyFixture("notes-1.0.0");
  for (const [name, text] of cases) {
    await t.step(name, async () => {
      const root = join(await tempDir(), "root");
      await cp(base, root, { recursive: true });
      await Deno.writeTextFile(join(root, "pkg/publishers.toml"), text);
      for (
        const args of [["pkg", "trust", "list"], ["pkg", "verify", bundle], [
          "pkg",
          "install",
          bundle,
        ]]
      ) {
        const r = await nx([...args, "--json"], { root });
        assert.equal(r.json?.code, "policy.duplicate_publisher", `${args[1]}: ${r.stdout}`);
        assert.equal(r.code, 3);
      }
    });
  }
});

Deno.test("trust add refuses a key another publisher holds and leaves the file as it was", async () => {
  const root = await trustedRoot(["dev", "rogue"]);
  const list = (await ok(["pkg", "trust", "list"], root)).json?.data.publishers;
  const dev = list.find((p: { name?: string }) => p.name === "dev");
  const path = join(root, "pkg/publishers.toml");
  const before = await Deno.readTextFile(path);
  // rogue's key is already listed under rogue's own id: it cannot join dev as well.
  const r = await nx([
    "pkg",
    "trust",
    "add",
    join(FIXTURES, "keys", "rogue.pub"),
    "--publisher",
    dev.id,
    "--json",
  ], { root });
  assert.equal(r.json?.code, "policy.duplicate_publisher", r.stdout);
  assert.equal(await Deno.readTextFile(path), before);
  await ok(["pkg", "trust", "list"], root);
});
