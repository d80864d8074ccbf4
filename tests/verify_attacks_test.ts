/**
 * `nx pkg verify` through the real process: a smoke set, one attack per code family plus what
 * only the real reader and the real CLI can show. Each rejection expects one stable code (and
 * its exit class), `ok: false`, no success marker, and no byte written to the state root or the
 * bundle. Tampered bundles are fresh copies of the committed fixtures.
 *
 * Every attack class is decided by the pure verifier, and is a row — by the same name — of the
 * in-memory table in core/trust/verify_attacks_test.ts (groups in brackets; * = also here):
 *   [accepts]            every committed fixture*, a toolkit rebuild re-signed by dev, a rotated
 *                        key under the publisher*, payload-only when the policy allows it
 *   [one flipped byte]   payload.elf* (integrity.payload_digest_mismatch), manifest.nxb, sbom,
 *                        repro record, an asset, a migration script, migrations.json
 *                        (integrity.*_digest_mismatch), meta/index.json (policy.signature_invalid)
 *   [the index signature file]  signature hex, another key under the publisher, an unknown field,
 *                        unknown index.sig / index versions (bundle.unsupported_version)
 *   [manifest edits]     a capability added (unbound, re-signed by a rogue key claiming dev, by
 *                        the rogue publisher, by another trusted publisher), a repro record not
 *                        re-bound (integrity.binding_mismatch)
 *   [the file set must equal the signed index]  added, removed, renamed, an empty directory, no
 *                        manifest, index without sig and sig without index, `..` and duplicate
 *                        index entries
 *   [hostile manifest bytes]  truncated* (manifest.decode_error), a far-pointer loop, a huge list
 *                        length, short publisher / signature, bad SemVer, unknown schemaVersion,
 *                        privilege ceiling, export namespace, `..` / absolute / missing resources,
 *                        payload size, swapped payload, all-zero signature, not ELF, bad sbom,
 *                        a migration naming a missing script
 *   [signature cryptography]  a payload signature replayed as the index signature, S + L, a
 *                        small-order key under dev's id, a small-order key trusted*
 *   [policy decisions]   unknown publisher (empty root)*, untrusted publisher, disabled*, an
 *                        unsupported alg (strict and permissive), permissive* and audit-only
 *                        warnings, a bad index signature in permissive, integrity in audit-only
 *   [structure]          symlinks (inside, outside*), a hardlink*, a FIFO*, unsafe names (hidden,
 *                        backslash, > 255 bytes), caps (payload, manifest, total*), more than
 *                        4096 files*, nesting deeper than 16*, a path that is a file* or missing*
 *   [payload-only bundles and downgrades]  the default policy*, flipped and swapped payloads,
 *                        all-zero and foreign signatures, an untrusted publisher, extra files and
 *                        directories, an unbound edit, index-stripping downgrades
 * The ones kept here exercise the reader on the real file system (links, FIFOs, sparse files
 * read before the total cap, the walk limits, what the bundle path is), the payload streamed
 * through the real reader, `trust add` writing the policy the verifier reads, the rendering of
 * warnings and markers, and "nothing written".
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as ed from "@noble/ed25519";
import { ERROR_TABLE, type ErrorCode, EXIT_CLASSES } from "../core/errors.ts";
import { fromHex, toHex } from "../core/bytes/hex.ts";
import { encodeIndex, encodeIndexSig, indexSigningMessage } from "../core/bundle/index_format.ts";
import { INDEX_FILE, INDEX_SIG_FILE, MANIFEST_FILE, REPRO_FILE } from "../core/bundle/layout.ts";
import { decodeManifest, encodeManifest } from "../core/bundle/manifest_codec.ts";
import type { Manifest } from "../core/bundle/manifest_types.ts";
import { manifestBinding } from "../core/bundle/meta.ts";
import { sign } from "../core/trust/ed25519.ts";
import { encodePublicKey, fingerprint, keyPairFromSeed } from "../core/trust/keys.ts";
import { APPS, KEY_NAMES, type KeyName, seedFor } from "../fixtures/catalog.ts";
import {
  copyFixture,
  FIXTURES,
  flipByte,
  nx,
  type NxRun,
  snapshotTree,
  tempDir,
  trustedRoot,
} from "./helpers.ts";

const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const sha256Hex = (b: Uint8Array) => toHex(sha256(b));
const MARKER = "pkgr: verified ok";
const MiB = 1024 * 1024;

const KEYS = Object.fromEntries(
  KEY_NAMES.map((n) => [n, keyPairFromSeed(seedFor(n))]),
) as Record<KeyName, ReturnType<typeof keyPairFromSeed>>;
const DEV_ID = fingerprint(KEYS.dev.publicKey);

// ---------------------------------------------------------------------------------------------
// Roots. verify must never write, so roots without policy edits are shared across tests (each
// test still checks its root's snapshot before and after).

const sharedRoots = new Map<string, Promise<string>>();

/** A root trusting the named fixture keys (none: a root that does not even exist yet). */
function root(keys: KeyName[] = ["dev"]): Promise<string> {
  const id = keys.join(",");
  if (!sharedRoots.has(id)) sharedRoots.set(id, trustedRoot(keys));
  return sharedRoots.get(id)!;
}

/** A fresh root trusting `keys`, with policy keys set through the CLI. */
async function policyRoot(keys: KeyName[], policy: Record<string, string>): Promise<string> {
  const dir = await trustedRoot(keys);
  // Trusting nobody creates no root: policy set needs one (only init and trust add make it).
  if (keys.length === 0) assert.equal((await nx(["pkg", "init"], { root: dir })).code, 0);
  for (const [key, value] of Object.entries(policy)) {
    const r = await nx(["pkg", "policy", "set", key, value, "--json"], { root: dir });
    assert.equal(r.code, 0, `policy set ${key} ${value}: ${r.stdout}${r.stderr}`);
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------
// Running verify.

type Snapshot = (dir: string) => Promise<Map<string, string>>;

interface Expect {
  /** How to snapshot the bundle's parent directory (default: helpers' snapshotTree). */
  snapshot?: Snapshot;
  /** Runs after the "before" snapshots, just before nx. */
  beforeRun?: () => Promise<void>;
}

/**
 * Runs `nx pkg verify --json --markers` and checks the outcome plus "nothing was written":
 * the root and the bundle's parent directory (so a bundle path that is a file or missing is
 * covered too) are byte-identical before and after.
 */
async function verify(bundle: string, rootDir: string, opts: Expect = {}): Promise<NxRun> {
  const snap = opts.snapshot ?? snapshotTree;
  const around = dirname(bundle);
  const rootBefore = await snapshotTree(rootDir);
  const bundleBefore = await snap(around);
  await opts.beforeRun?.();
  const r = await nx(["pkg", "verify", bundle, "--json", "--markers"], { root: rootDir });
  assert.deepEqual(await snapshotTree(rootDir), rootBefore, "verify wrote into the state root");
  assert.deepEqual(await snap(around), bundleBefore, "verify changed the bundle");
  return r;
}

async function expectReject(
  bundle: string,
  rootDir: string,
  code: ErrorCode,
  opts: Expect = {},
): Promise<NxRun> {
  const r = await verify(bundle, rootDir, opts);
  const exitClass = ERROR_TABLE[code].exitClass;
  assert.equal(r.json?.code, code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.json?.ok, false);
  assert.equal(r.json?.class, exitClass);
  assert.equal(r.code, EXIT_CLASSES[exitClass]);
  assert.ok(!r.stderr.includes(MARKER), `success marker on a rejected bundle: ${r.stderr}`);
  return r;
}

/** Accepted: exit 0; the marker only when no finding was downgraded to a warning. */
async function expectAccept(bundle: string, rootDir: string, fullyTrusted = true): Promise<NxRun> {
  const r = await verify(bundle, rootDir);
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.equal(r.json?.ok, true);
  assert.equal(r.stderr.split("\n").includes(MARKER), fullyTrusted, `marker line: ${r.stderr}`);
  return r;
}

/** Like snapshotTree but never opens non-regular files (reading a FIFO would block). */
async function snapshotNoFollow(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (abs: string, rel: string) => {
    for await (const e of Deno.readDir(abs)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const full = join(abs, e.name);
      const info = await Deno.lstat(full);
      if (info.isDirectory) {
        out.set(`${path}/`, "dir");
        await visit(full, path);
      } else if (info.isSymlink) out.set(path, `-> ${await Deno.readLink(full)}`);
      else if (info.isFile) out.set(path, sha256Hex(await Deno.readFile(full)));
      else out.set(path, `special mode=${info.mode} ino=${info.ino}`);
    }
  };
  await visit(dir, "");
  return out;
}

/** What lstat says about every entry (type, size, mtime), without opening any file. */
async function snapshotStat(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (abs: string, rel: string) => {
    for await (const e of Deno.readDir(abs)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      const info = await Deno.lstat(join(abs, e.name));
      const kind = info.isDirectory ? "dir" : info.isFile ? "file" : "other";
      out.set(path, `${kind} ${info.size} ${info.mtime?.getTime()}`);
      if (info.isDirectory) await visit(join(abs, e.name), path);
    }
  };
  await visit(dir, "");
  return out;
}

// ---------------------------------------------------------------------------------------------
// The attacker's toolkit (the whole kit, on in-memory bundles: core/trust/verify_attacks_test.ts).

/** Something that signs index messages under a public key (a fixture key or a forgery). */
interface Signer {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** A copy of a committed fixture with `attack` applied to it. */
async function tampered(id: string, attack: (dir: string) => Promise<unknown>): Promise<string> {
  const dir = await copyFixture(id);
  await attack(dir);
  return dir;
}

/** Every regular file of a bundle (bundle-relative), except the index and its signature. */
async function bundleFiles(dir: string, rel = ""): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(join(dir, rel))) {
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) {
      for (const [p, b] of await bundleFiles(dir, path)) out.set(p, b);
    } else if (e.isFile && path !== INDEX_FILE && path !== INDEX_SIG_FILE) {
      out.set(path, await Deno.readFile(join(dir, path)));
    }
  }
  return out;
}

/**
 * Rewrites meta/index.json from the files present and signs it with `s` (for `publisher`,
 * default the signer's own fingerprint).
 */
async function resignIndex(dir: string, s: Signer, publisher?: string): Promise<void> {
  const entries = [...await bundleFiles(dir)].map(([path, bytes]) => ({
    path,
    size: bytes.length,
    sha256: sha256Hex(bytes),
  }));
  const index = encodeIndex(entries);
  await Deno.writeFile(join(dir, INDEX_FILE), index);
  await Deno.writeFile(
    join(dir, INDEX_SIG_FILE),
    encodeIndexSig({
      alg: "ed25519",
      publisher: publisher ?? fingerprint(s.publicKey),
      key: toHex(s.publicKey),
      signature: toHex(s.sign(indexSigningMessage(index))),
    }),
  );
}

/** Decodes manifest.nxb, applies `edit`, re-encodes it, and re-binds the repro record to it. */
async function editManifest(dir: string, edit: (m: Manifest) => Manifest): Promise<void> {
  const m = edit(decodeManifest(await Deno.readFile(join(dir, MANIFEST_FILE))));
  const repro = JSON.parse(await Deno.readTextFile(join(dir, REPRO_FILE)));
  repro.manifest_binding_sha256 = manifestBinding(m);
  const reproBytes = enc.encode(JSON.stringify(repro, null, 2) + "\n");
  await Deno.writeFile(join(dir, REPRO_FILE), reproBytes);
  await Deno.writeFile(
    join(dir, MANIFEST_FILE),
    encodeManifest({ ...m, reproDigest: sha256(reproBytes) }),
  );
}

const signerOf = (name: KeyName): Signer => ({
  publicKey: KEYS[name].publicKey,
  sign: (m) => sign(m, KEYS[name].seed),
});

/** The order-2 point (0, -1): a canonical encoding of a small-order public key. */
const SMALL_ORDER_KEY = fromHex("ec" + "ff".repeat(30) + "7f");

/**
 * The classic small-order-key forgery: R = [r]B, S = r. For any message the cofactored
 * equation [8](SB − R − kA) = [8](−kA) = O holds because A has order 2.
 */
const smallOrderForger: Signer = {
  publicKey: SMALL_ORDER_KEY,
  sign: () => {
    const r = 0x1234_5678_9abc_def0n;
    const out = new Uint8Array(64);
    out.set(ed.Point.BASE.multiply(r).toBytes());
    for (let i = 0; i < 32; i++) out[32 + i] = Number((r >> BigInt(8 * i)) & 0xffn);
    return out;
  },
};

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Accepted: the committed fixtures, and policy written by `trust add`.

Deno.test("verify accepts every committed fixture bundle with the verified marker", async (t) => {
  const r = await policyRoot(["dev", "store"], { "allow-payload-only-signatures": "on" });
  for (const app of APPS) {
    await t.step(app.id, async () => {
      const bundle = join(FIXTURES, "bundles", `${app.id}.nxb`);
      const run = await expectAccept(bundle, r);
      assert.equal(run.json?.data.manifest.name, app.id.split("-")[0]);
      assert.equal(run.json?.data.scheme, app.key === "payload-only" ? "payload-only" : "nx-index");
    });
  }
});

Deno.test("verify accepts a rotated key added to the publisher (control for key_unknown)", async () => {
  const r = await trustedRoot(["dev"]);
  const add = await nx(
    ["pkg", "trust", "add", join(FIXTURES, "keys", "rogue.pub"), "--publisher", DEV_ID, "--json"],
    { root: r },
  );
  assert.equal(add.code, 0, add.stdout);
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    await editManifest(d, (m) => ({ ...m, signature: sign(payload, KEYS.rogue.seed) }));
    await resignIndex(d, signerOf("rogue"), DEV_ID);
  });
  const run = await expectAccept(bundle, r);
  assert.equal(run.json?.data.signer.publisher, DEV_ID);
  assert.equal(run.json?.data.signer.trusted, true);
});

// ---------------------------------------------------------------------------------------------
// One per code family: integrity, manifest, policy (bundle.*: the reader, below).

Deno.test("verify rejects a flipped payload byte", async () => {
  // The payload is the file the reader streams (SHA-256 and the signature's SHA-512 challenge).
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, "payload.elf"), 100));
  await expectReject(bundle, await root(), "integrity.payload_digest_mismatch");
});

Deno.test("verify rejects a truncated manifest.nxb", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const bytes = await Deno.readFile(join(d, MANIFEST_FILE));
    await Deno.writeFile(join(d, MANIFEST_FILE), bytes.subarray(0, bytes.length >> 1));
    await resignIndex(d, signerOf("dev"));
  });
  await expectReject(bundle, await root(), "manifest.decode_error");
});

Deno.test("verify rejects an unknown publisher (empty root)", async () => {
  const bundle = await copyFixture("notes-1.0.0");
  const empty = await root([]);
  await expectReject(bundle, empty, "policy.publisher_unknown");
  // Not even the root's skeleton may be created by a read-only verb.
  await assert.rejects(Deno.lstat(empty), Deno.errors.NotFound);
});

Deno.test("verify rejects a disabled publisher", async () => {
  const r = join(await tempDir(), "root");
  const add = await nx(
    ["pkg", "trust", "add", join(FIXTURES, "keys", "dev.pub"), "--disabled", "--json"],
    { root: r },
  );
  assert.equal(add.code, 0, add.stdout);
  await expectReject(await copyFixture("notes-1.0.0"), r, "policy.disabled");
});

Deno.test("verify in permissive mode warns on an unknown publisher", async () => {
  const r = await policyRoot([], { mode: "permissive" });
  const run = await expectAccept(await copyFixture("notes-1.0.0"), r, false);
  assert.match(run.stderr, /warning: .*\(policy\.publisher_unknown\)/);
  assert.equal(run.json?.data.signer.trusted, false);
});

Deno.test("verify rejects a payload-only bundle on the default policy", async () => {
  await expectReject(
    await copyFixture("legacy-1.0.0"),
    await root(),
    "policy.payload_only_signature",
  );
});

Deno.test("verify rejects a small-order public key forgery even when that key is trusted", async (t) => {
  // A lax (ZIP-215, cofactored) verifier accepts this forgery for any message; nx must not.
  const probe = enc.encode("any message at all");
  assert.ok(ed.verify(smallOrderForger.sign(probe), probe, SMALL_ORDER_KEY, { zip215: true }));
  await t.step("trust add refuses the key", async () => {
    const pub = join(await tempDir(), "small.pub");
    await Deno.writeTextFile(pub, encodePublicKey(SMALL_ORDER_KEY));
    const r = join(await tempDir(), "root");
    const add = await nx(["pkg", "trust", "add", pub, "--json"], { root: r });
    assert.equal(add.json?.code, "key.invalid", add.stdout);
  });
  await t.step(
    "a hand-written publishers.toml trusting it does not make the forgery verify",
    async () => {
      const r = await trustedRoot(["dev"]);
      await Deno.writeTextFile(
        join(r, "pkg", "publishers.toml"),
        `version = 1\n\n[[publishers]]\nid = "${fingerprint(SMALL_ORDER_KEY)}"\nenabled = true\n` +
          `allowed_algs = ["ed25519"]\nkeys = ["${toHex(SMALL_ORDER_KEY)}"]\n`,
      );
      const list = await nx(["pkg", "trust", "list", "--json"], { root: r });
      assert.equal(list.code, 0, list.stdout);
      assert.ok(list.stdout.includes(fingerprint(SMALL_ORDER_KEY)), "the root trusts the key");
      const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, smallOrderForger));
      await expectReject(bundle, r, "policy.signature_invalid");
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The reader on the real file system: links, special files, caps, walk limits, the bundle path.

Deno.test("verify rejects a symlink pointing outside the bundle", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await Deno.writeTextFile(join(dirname(d), "secret.txt"), "outside\n");
    await Deno.remove(join(d, "assets/icon.svg"));
    await Deno.symlink("../../secret.txt", join(d, "assets/icon.svg"));
  });
  await expectReject(bundle, await root(), "bundle.symlink");
});

Deno.test("verify rejects a hardlink", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.link(join(d, "payload.elf"), join(dirname(d), "outside.elf")),
  );
  await expectReject(bundle, await root(), "bundle.hardlink");
});

Deno.test("verify rejects a FIFO", async () => {
  // The reader must not block opening it.
  const bundle = await tampered("notes-1.0.0", (d) => mkfifo(join(d, "assets/pipe")));
  await expectReject(bundle, await root(), "bundle.special_file", { snapshot: snapshotNoFollow });
});

// The total cap is decided from lstat sizes after the walk: an over-cap bundle is refused
// without opening any file (detected through atime: it moves when a file is read).
Deno.test("verify rejects a bundle over the total cap without reading its files", async () => {
  const big = Array.from({ length: 5 }, (_, i) => `assets/big${i}.bin`);
  const bundle = await tampered("notes-1.0.0", async (d) => {
    for (const path of big) {
      await Deno.writeFile(join(d, path), new Uint8Array());
      await Deno.truncate(join(d, path), 15 * MiB);
    }
  });
  const old = new Date(1_000_000_000);
  await expectReject(bundle, await root(), "bundle.too_large", {
    beforeRun: async () => {
      for (const path of big) {
        await Deno.utime(join(bundle, path), old, (await Deno.lstat(join(bundle, path))).mtime!);
      }
    },
    // snapshotTree would read the files (and move their atime) before the check below.
    snapshot: snapshotStat,
  });
  for (const path of big) {
    const atime = (await Deno.lstat(join(bundle, path))).atime!;
    assert.equal(atime.getTime(), old.getTime(), `${path} was read before the total cap check`);
  }
});

Deno.test("verify rejects more than 4096 files", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await Deno.mkdir(join(d, "assets/many"));
    const names = Array.from({ length: 4100 }, (_, i) => `f${i}`);
    for (let i = 0; i < names.length; i += 256) {
      await Promise.all(
        names.slice(i, i + 256).map((n) =>
          Deno.writeFile(join(d, "assets/many", n), new Uint8Array())
        ),
      );
    }
  });
  await expectReject(bundle, await root(), "bundle.too_many_files");
});

Deno.test("verify rejects nesting deeper than 16 levels", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.mkdir(join(d, ...Array(17).fill("n")), { recursive: true }),
  );
  await expectReject(bundle, await root(), "bundle.too_many_files");
});

Deno.test("verify rejects a bundle path that is a regular file", async () => {
  const bundle = join(await tempDir(), "notes.nxb");
  await Deno.writeFile(
    bundle,
    await Deno.readFile(join(FIXTURES, "bundles/notes-1.0.0.nxb", MANIFEST_FILE)),
  );
  await expectReject(bundle, await root(), "bundle.not_directory");
});

Deno.test("verify rejects a bundle path that does not exist", async () => {
  await expectReject(join(await tempDir(), "nope.nxb"), await root(), "bundle.not_found");
});
