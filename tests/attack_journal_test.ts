/**
 * The journal is input: the next command on a root reads it back and acts on it. Every hostile
 * journal here is a journal nx really wrote (an upgrade killed after `switch-current`) with one
 * edit. Each must make a read-only command fail with `journal.corrupt` having changed nothing —
 * a sentinel directory outside the root, which the traversals would delete, survives — and
 * `doctor --repair` must resolve it: quarantine, then a clean doctor, the app at its old version.
 * Also: an undo that fails at recovery time leaves a root that repair resolves, and a version too
 * long for a file name is refused before anything is written.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { toHex } from "../core/bytes/hex.ts";
import { encodeIndex, encodeIndexSig, indexSigningMessage } from "../core/bundle/index_format.ts";
import { INDEX_FILE, INDEX_SIG_FILE, MANIFEST_FILE, REPRO_FILE } from "../core/bundle/layout.ts";
import { decodeManifest, encodeManifest } from "../core/bundle/manifest_codec.ts";
import { manifestBinding } from "../core/bundle/meta.ts";
import { MANIFEST_NAME_MAX } from "../core/bundle/validate.ts";
import { JOURNAL_MAX_BYTES } from "../core/apply/journal.ts";
import { TXID } from "../core/plan/schema.ts";
import { sign } from "../core/trust/ed25519.ts";
import { fingerprint, keyPairFromSeed } from "../core/trust/keys.ts";
import { seedFor } from "../fixtures/catalog.ts";
import { cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";
import { copyFixture, nx, snapshotTree, spawnNx, trustedRoot } from "./helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

// ---------------------------------------------------------------------------------------------
// Bundles: notes 1.0.0 re-versioned (an upgrade 1.0.0 → 1.0.1 runs no migrations).

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const DEV = keyPairFromSeed(seedFor("dev"));

/** Every regular file of a bundle except the index and its signature, bundle-relative. */
async function bundleFiles(dir: string, rel = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) { for (const [p, b] of await bundleFiles(dir, path)) out.set(p, b); }
    else if (path !== INDEX_FILE && path !== INDEX_SIG_FILE) {
      out.set(path, await Deno.readFile(join(dir, path)));
    }
  }
  return out;
}

/** notes 1.0.0 re-versioned to `semver`, re-bound and re-signed by the dev key: valid otherwise. */
async function notesVersioned(semver: string): Promise<string> {
  const dir = await copyFixture("notes-1.0.0");
  const m = { ...decodeManifest(await Deno.readFile(join(dir, MANIFEST_FILE))), semver };
  const repro = JSON.parse(await Deno.readTextFile(join(dir, REPRO_FILE)));
  repro.manifest_binding_sha256 = manifestBinding(m);
  const reproBytes = new TextEncoder().encode(JSON.stringify(repro, null, 2) + "\n");
  await Deno.writeFile(join(dir, REPRO_FILE), reproBytes);
  await Deno.writeFile(
    join(dir, MANIFEST_FILE),
    encodeManifest({ ...m, reproDigest: sha256(reproBytes) }),
  );
  const entries = [...await bundleFiles(dir)].map(([path, bytes]) => ({
    path,
    size: bytes.length,
    sha256: toHex(sha256(bytes)),
  }));
  const index = encodeIndex(entries);
  await Deno.writeFile(join(dir, INDEX_FILE), index);
  await Deno.writeFile(
    join(dir, INDEX_SIG_FILE),
    encodeIndexSig({
      alg: "ed25519",
      publisher: fingerprint(DEV.publicKey),
      key: toHex(DEV.publicKey),
      signature: toHex(sign(indexSigningMessage(index), DEV.seed)),
    }),
  );
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Hostile journals.

interface Crashed {
  /** A root holding the journal of an upgrade notes 1.0.0 → 1.0.1 killed after switch-current. */
  root: string;
  /** The journal's lines as nx wrote them. */
  lines: Json[];
  /** observe() of the root before the upgrade: what recovery must come back to. */
  old: string;
}

let crashed: Promise<Crashed> | undefined;
function crashedUpgrade(): Promise<Crashed> {
  crashed ??= (async () => {
    const root = await preparedRoot([["install", "notes-1.0.0"]]);
    const old = await observe(await cloneRoot(root));
    const args = ["pkg", "upgrade", await notesVersioned("1.0.1")];
    const status = await spawnNx(args, root, { NX_FAULT: "crash-after:switch-current" }).status;
    assert.equal(status.signal, "SIGKILL");
    const text = await Deno.readTextFile(join(root, "pkg/journal"));
    return { root, old, lines: text.trimEnd().split("\n").map((l) => JSON.parse(l)) };
  })();
  return crashed;
}

const journalText = (lines: Json[]) => lines.map((l) => JSON.stringify(l) + "\n").join("");

/** `<root>/../x`, shaped like what each traversal below points at. */
async function plantSentinel(root: string): Promise<string> {
  const x = join(root, "..", "x");
  for (const dir of ["versions/1.0.1", "data/1.0.1", "version", "data"]) {
    await Deno.mkdir(join(x, dir), { recursive: true });
    await Deno.writeTextFile(join(x, dir, "precious"), "keep me\n");
  }
  return x;
}

/** The app is registered and linked at `version`, the one before the interrupted upgrade. */
async function assertActive(root: string, version: string): Promise<void> {
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.deepEqual(list.json?.data.apps.map((a: Json) => `${a.id} ${a.version}`), [
    `notes ${version}`,
  ]);
  assert.equal(await Deno.readLink(join(root, "apps/notes/current")), `versions/${version}`);
}

const stepOf = (plan: Json, kind: string) => plan.steps.find((s: Json) => s.kind === kind);

/** One edit each of nx's own journal: [name, edit of the parsed lines, or raw text]. */
const HOSTILE: [string, (lines: Json[]) => Json[] | string][] = [
  ["txid traversal", (l) => (l[0].plan.txid = "../../../x", l)],
  ["appId traversal", (l) => (l[0].plan.appId = "../../x", l)],
  ["version traversal", (l) => (stepOf(l[0].plan, "publish-data").version = "../../../../x", l)],
  [
    "version of 256 characters",
    (l) => (stepOf(l[0].plan, "publish-version").version = `1.0.1-${"a".repeat(250)}`, l),
  ],
  ["unknown step kind", (l) => (l[0].plan.steps[0] = { kind: "frobnicate" }, l)],
  ["missing field", (l) => (delete stepOf(l[0].plan, "switch-current").from, l)],
  ["extra step field", (l) => (stepOf(l[0].plan, "publish-data").path = "/", l)],
  ["extra plan field", (l) => (l[0].plan.root = "/", l)],
  ["relative source", (l) => (l[0].plan.source = "notes.nxb", l)],
  ["record of another app", (l) => (l[0].plan.before.id = "ledger", l)],
  ["out-of-range index", (l) => [...l, { begin: 99 }]],
  ["done before begin", (l) => [...l, { done: 6 }]],
  ["extra entry field", (l) => [l[0], { begin: 0, rm: "/" }, ...l.slice(2)]],
  ["torn middle line", (l) => journalText(l.slice(0, 3)) + '{"do\n' + journalText(l.slice(3))],
];

Deno.test("a hostile journal is journal.corrupt, changes nothing, and doctor --repair resolves it", async (t) => {
  const { root: template, lines, old } = await crashedUpgrade();
  assert.match(lines[0].plan.txid, TXID, "nx's own txid has the format the journal requires");

  await t.step("control: nx's own journal recovers", async () => {
    const root = await cloneRoot(template);
    const r = await nx(["pkg", "list", "--json"], { root });
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    assert.match(r.stderr, /journal\.recovered/);
    assert.equal(await observe(root), old);
  });

  const cases: [string, (root: string) => Promise<void>][] = HOSTILE.map(([name, edit]) => [
    name,
    async (root) => {
      const edited = edit(structuredClone(lines));
      const text = typeof edited === "string" ? edited : journalText(edited);
      await Deno.writeTextFile(join(root, "pkg/journal"), text);
    },
  ]);
  cases.push(["huge journal", async (root) => {
    const path = join(root, "pkg/journal");
    await Deno.writeTextFile(path, journalText(lines));
    await Deno.truncate(path, JOURNAL_MAX_BYTES + 1); // sparse: nothing near 64 MiB is written
  }]);

  for (const [name, write] of cases) {
    await t.step(name, async () => {
      const root = await cloneRoot(template);
      const sentinel = await plantSentinel(root);
      await write(root);
      const before = {
        sentinel: await snapshotTree(sentinel),
        apps: await snapshotTree(join(root, "apps")),
        staging: await snapshotTree(join(root, "pkg/staging")),
        journal: await Deno.readFile(join(root, "pkg/journal")),
      };
      const r = await nx(["pkg", "list", "--json"], { root });
      assert.equal(r.json?.code, "journal.corrupt", r.stdout + r.stderr);
      assert.equal(r.code, 5);
      assert.deepEqual(await snapshotTree(sentinel), before.sentinel, "outside the root");
      assert.deepEqual(await snapshotTree(join(root, "apps")), before.apps);
      assert.deepEqual(await snapshotTree(join(root, "pkg/staging")), before.staging);
      assert.deepEqual(await Deno.readFile(join(root, "pkg/journal")), before.journal);

      const fixed = await nx(["pkg", "doctor", "--repair", "--json"], { root });
      assert.equal(fixed.json?.code, "ok", fixed.stdout + fixed.stderr);
      assert.match(fixed.stderr, /journal\.corrupt/, "the quarantine is reported");
      const pkg = [...(await snapshotTree(join(root, "pkg"))).keys()];
      assert.ok(!pkg.includes("journal"));
      assert.equal(pkg.filter((p) => p.startsWith("journal.corrupt.")).length, 1);
      await doctorClean(root);
      await assertActive(root, "1.0.0");
      assert.deepEqual(await snapshotTree(sentinel), before.sentinel, "outside the root");
    });
  }
});

Deno.test("an undo that fails at recovery keeps the journal, and doctor --repair resolves the root", async () => {
  const root = await cloneRoot((await crashedUpgrade()).root);
  // Every fsync below apps/notes fails, on every attempt: switch-current's undo cannot complete.
  const env = { NX_FAULT: "eio:fsync:/apps/notes" };
  for (let attempt = 0; attempt < 2; attempt++) {
    const r = await nx(["pkg", "list", "--json"], { root, env });
    assert.equal(r.json?.code, "journal.corrupt", r.stdout + r.stderr);
    assert.equal(r.code, 5);
    assert.ok(await Deno.lstat(join(root, "pkg/journal")), "the journal stays for a retry");
  }
  const fixed = await nx(["pkg", "doctor", "--repair", "--json"], { root, env });
  assert.equal(fixed.json?.code, "ok", fixed.stdout + fixed.stderr);
  await doctorClean(root);
  await assertActive(root, "1.0.0");
});

// ---------------------------------------------------------------------------------------------
// Name limits: a version becomes versions/<ver> and data/<ver>.

/** The root minus the registry files an audited refusal appends to, and the lock. */
async function rootFiles(root: string): Promise<Map<string, string>> {
  const all = await snapshotTree(root);
  for (const key of all.keys()) {
    if (key.startsWith("pkg/registry.db") || key === "pkg/lock") all.delete(key);
  }
  return all;
}

Deno.test("a version too long for a file name is refused before anything is written", async (t) => {
  const root = await trustedRoot(["dev"]);
  const longest = `1.0.0-${"a".repeat(MANIFEST_NAME_MAX - 6)}`;
  await t.step(`the longest version that fits (${MANIFEST_NAME_MAX} bytes) installs`, async () => {
    const ok = await nx(["pkg", "install", await notesVersioned(longest), "--json"], {
      root: await cloneRoot(root),
    });
    assert.equal(ok.json?.code, "ok", ok.stdout + ok.stderr);
  });
  for (const length of [MANIFEST_NAME_MAX + 1, 256]) {
    await t.step(`${length} characters`, async () => {
      const bundle = await notesVersioned(`1.0.0-${"a".repeat(length - 6)}`);
      const before = await snapshotTree(root);
      const verify = await nx(["pkg", "verify", bundle, "--json"], { root });
      assert.equal(verify.json?.code, "preflight.name_too_long", verify.stdout + verify.stderr);
      assert.equal(verify.code, 3);
      assert.deepEqual(await snapshotTree(root), before, "verify: the root is byte-identical");
      const files = await rootFiles(root);
      const install = await nx(["pkg", "install", bundle, "--json"], { root });
      assert.equal(install.json?.code, "preflight.name_too_long", install.stdout);
      assert.deepEqual(await rootFiles(root), files, "install: nothing but its audit entry");
      await doctorClean(root);
    });
  }
  await t.step("then every command still works", async () => {
    assert.equal((await nx(["pkg", "list", "--json"], { root })).json?.code, "ok");
  });
});
