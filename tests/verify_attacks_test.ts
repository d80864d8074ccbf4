/**
 * Adversarial tests for `nx pkg verify`: one test per attack class, each expecting one stable
 * code (and its exit class), `ok: false`, no success marker, and no byte written to the state
 * root or the bundle. Tampered bundles are fresh copies of the committed fixtures; where an
 * attack needs a re-signed or hand-made bundle, the attacker's toolkit below builds it with the
 * project's own codecs and the fixture keys (fixed seeds).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import * as ed from "@noble/ed25519";
import { ERROR_TABLE, type ErrorCode, EXIT_CLASSES } from "../core/errors.ts";
import { fromHex, toHex } from "../core/bytes/hex.ts";
import {
  encodeIndex,
  encodeIndexSig,
  INDEX_FORMAT,
  INDEX_SIGNING_DOMAIN,
  type IndexEntry,
  indexSigningMessage,
} from "../core/bundle/index_format.ts";
import {
  INDEX_FILE,
  INDEX_SIG_FILE,
  MANIFEST_FILE,
  MIGRATIONS_FILE,
  REPRO_FILE,
  SBOM_FILE,
} from "../core/bundle/layout.ts";
import { decodeManifest, encodeManifest } from "../core/bundle/manifest_codec.ts";
import type { Manifest } from "../core/bundle/manifest_types.ts";
import { manifestBinding } from "../core/bundle/meta.ts";
import { sign, verifyStrict } from "../core/trust/ed25519.ts";
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
/** The group order of Ed25519 (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

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
// The attacker's toolkit.

/** Something that signs index messages under a public key (a fixture key or a forgery). */
interface Signer {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

function signerOf(name: KeyName): Signer {
  const pair = KEYS[name];
  return { publicKey: pair.publicKey, sign: (m) => sign(m, pair.seed) };
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

interface ResignOptions {
  /** The publisher id index.sig claims (default: the signer's own fingerprint). */
  publisher?: string;
  alg?: string;
  /** Edit the entries before encoding (add, duplicate, …). */
  entries?: (entries: IndexEntry[]) => IndexEntry[];
  /** Serialise the index differently (default: the project's encodeIndex). */
  encode?: (entries: IndexEntry[]) => Uint8Array;
}

/** Rewrites meta/index.json from the files present and signs it with `signer`. */
async function resignIndex(
  dir: string,
  signer: KeyName | Signer,
  opts: ResignOptions = {},
): Promise<void> {
  const s = typeof signer === "string" ? signerOf(signer) : signer;
  let entries = [...await bundleFiles(dir)].map(([path, bytes]) => ({
    path,
    size: bytes.length,
    sha256: sha256Hex(bytes),
  }));
  if (opts.entries) entries = opts.entries(entries);
  const index = (opts.encode ?? encodeIndex)(entries);
  await Deno.mkdir(join(dir, "meta"), { recursive: true });
  await Deno.writeFile(join(dir, INDEX_FILE), index);
  await Deno.writeFile(
    join(dir, INDEX_SIG_FILE),
    encodeIndexSig({
      alg: opts.alg ?? "ed25519",
      publisher: opts.publisher ?? fingerprint(s.publicKey),
      key: toHex(s.publicKey),
      signature: toHex(s.sign(indexSigningMessage(index))),
    }),
  );
}

/**
 * Decodes manifest.nxb, applies `edit`, re-encodes it. With `rebind` (default) the repro record
 * is re-bound to the edited manifest and reproDigest updated, as a careful attacker would, so
 * verification gets past the binding check to the rule under test.
 */
async function editManifest(
  dir: string,
  edit: (m: Manifest) => Manifest,
  { rebind = true } = {},
): Promise<void> {
  let m = edit(decodeManifest(await Deno.readFile(join(dir, MANIFEST_FILE))));
  if (rebind) {
    const repro = await editJson(dir, REPRO_FILE, (j) => ({
      ...j,
      manifest_binding_sha256: manifestBinding(m),
    }));
    m = { ...m, reproDigest: sha256(repro) };
  }
  await Deno.writeFile(join(dir, MANIFEST_FILE), encodeManifest(m));
}

/** Rewrites a JSON file of the bundle; returns the new bytes. */
async function editJson(
  dir: string,
  path: string,
  edit: (json: Record<string, unknown>) => unknown,
): Promise<Uint8Array> {
  const bytes = enc.encode(
    JSON.stringify(edit(JSON.parse(await Deno.readTextFile(join(dir, path)))), null, 2) + "\n",
  );
  await Deno.writeFile(join(dir, path), bytes);
  return bytes;
}

/** Replaces payload.elf and makes the manifest's digest and size agree with it. */
async function replacePayload(dir: string, payload: Uint8Array): Promise<void> {
  await Deno.writeFile(join(dir, "payload.elf"), payload);
  await editManifest(dir, (m) => ({
    ...m,
    payloadDigest: sha256(payload),
    payloadSize: BigInt(payload.length),
  }));
}

/** Offset of the first character of a JSON string value `"key": "…"` in a file's text. */
async function valueOffset(path: string, key: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  const at = text.indexOf(`"${key}": "`);
  assert.ok(at >= 0, `${key} not in ${path}`);
  return at + key.length + 5;
}

function withScalar(signature: Uint8Array, s: bigint): Uint8Array {
  const out = signature.slice();
  for (let i = 0; i < 32; i++) out[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn);
  return out;
}

function scalarOf(signature: Uint8Array): bigint {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]);
  return s;
}

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
    return withScalar(out, r);
  },
};

/** A two-segment Cap'n Proto message whose root is a far pointer into a far pointer back. */
function farPointerLoop(): Uint8Array {
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 1, true); // segment count - 1
  v.setUint32(4, 1, true); // segment 0: one word
  v.setUint32(8, 1, true); // segment 1: one word (then 4 bytes of padding)
  v.setUint32(16, 2, true); // seg 0 word 0: single far pointer, landing pad seg 1 word 0
  v.setUint32(20, 1, true);
  v.setUint32(24, 2, true); // seg 1 word 0: single far pointer, landing pad seg 0 word 0
  v.setUint32(28, 0, true);
  return bytes;
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

// ---------------------------------------------------------------------------------------------
// Positive controls: the toolkit and the fixtures are sound, so every rejection below is caused
// by its attack and nothing else.

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

Deno.test("verify accepts a bundle the toolkit rebuilt and re-signed with the dev key", async () => {
  const bundle = await tampered("notes-1.1.0", async (dir) => {
    await editManifest(dir, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }));
    await resignIndex(dir, "dev");
  });
  const r = await expectAccept(bundle, await root());
  assert.deepEqual(r.json?.data.manifest.capabilities, [
    "nexus.permission.STORAGE",
    "nexus.permission.NET",
  ]);
});

// ---------------------------------------------------------------------------------------------
// One flipped byte anywhere: the signed index catches it.

Deno.test("verify rejects a flipped payload byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, "payload.elf"), 100));
  await expectReject(bundle, await root(), "integrity.payload_digest_mismatch");
});

Deno.test("verify rejects a flipped manifest byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, MANIFEST_FILE), -3));
  await expectReject(bundle, await root(), "integrity.manifest_digest_mismatch");
});

Deno.test("verify rejects a flipped sbom byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, SBOM_FILE), 40));
  await expectReject(bundle, await root(), "integrity.sbom_digest_mismatch");
});

Deno.test("verify rejects a flipped repro record byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, REPRO_FILE), 40));
  await expectReject(bundle, await root(), "integrity.repro_digest_mismatch");
});

Deno.test("verify rejects a flipped asset byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, "assets/icon.svg"), 10));
  await expectReject(bundle, await root(), "integrity.file_digest_mismatch");
});

Deno.test("verify rejects a flipped migration script byte", async () => {
  const bundle = await tampered(
    "notes-1.1.0",
    (d) => flipByte(join(d, "migrations/1.0.0_to_1.1.0.ts"), 20),
  );
  await expectReject(bundle, await root(), "integrity.file_digest_mismatch");
});

Deno.test("verify rejects a flipped migrations.json byte", async () => {
  const bundle = await tampered("notes-1.1.0", (d) => flipByte(join(d, MIGRATIONS_FILE), 20));
  await expectReject(bundle, await root(), "integrity.file_digest_mismatch");
});

Deno.test("verify rejects a flipped meta/index.json byte", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, INDEX_FILE), 60));
  await expectReject(bundle, await root(), "policy.signature_invalid");
});

Deno.test("verify rejects a flipped byte in the meta/index.sig signature hex", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const path = join(d, INDEX_SIG_FILE);
    const text = await Deno.readTextFile(path);
    const start = await valueOffset(path, "signature");
    // A hex digit whose low bit can flip and stay hex (0-9, b-e), so the file still parses.
    let at = start;
    while (!/[0-9b-e]/.test(text[at])) at++;
    await flipByte(path, at);
  });
  await expectReject(bundle, await root(), "policy.signature_invalid");
});

Deno.test("verify rejects an index.sig that names another key under the same publisher", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const path = join(d, INDEX_SIG_FILE);
    await flipByte(path, await valueOffset(path, "key"));
  });
  await expectReject(bundle, await root(), "policy.key_unknown");
});

// ---------------------------------------------------------------------------------------------
// Manifest edits: the upstream hole (unsigned manifest) is closed by the signed index.

Deno.test("verify rejects a capability added to a signed manifest", async () => {
  const bundle = await tampered("notes-1.0.0", (d) =>
    editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }), { rebind: false }));
  await expectReject(bundle, await root(), "integrity.manifest_digest_mismatch");
});

Deno.test("verify rejects a capability added and the index re-signed by a rogue key claiming dev", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }));
    await resignIndex(d, "rogue", { publisher: DEV_ID });
  });
  // dev is listed, enabled and allows ed25519; the rogue key is not one of dev's keys.
  await expectReject(bundle, await root(), "policy.key_unknown");
});

Deno.test("verify rejects a capability added and the index re-signed by the rogue publisher", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }));
    await resignIndex(d, "rogue");
  });
  await expectReject(bundle, await root(), "policy.publisher_unknown");
});

Deno.test("verify rejects a trusted publisher re-signing another publisher's bundle", async () => {
  // store is trusted too, but manifest.publisher still names dev.
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }));
    await resignIndex(d, "store");
  });
  await expectReject(bundle, await root(["dev", "store"]), "policy.publisher_mismatch");
});

Deno.test("verify rejects a manifest edit whose repro record is not re-bound", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.NET"],
    }), { rebind: false });
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "integrity.binding_mismatch");
});

// ---------------------------------------------------------------------------------------------
// The file set must equal the signed index.

Deno.test("verify rejects an added file", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.writeTextFile(join(d, "assets/extra.bin"), "smuggled\n"),
  );
  await expectReject(bundle, await root(), "integrity.file_added");
});

Deno.test("verify rejects a removed file", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.remove(join(d, "assets/icon.svg")));
  await expectReject(bundle, await root(), "integrity.file_missing");
});

Deno.test("verify rejects a renamed file", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.rename(join(d, "assets/icon.svg"), join(d, "assets/icon2.svg")),
  );
  await expectReject(bundle, await root(), "integrity.file_missing");
});

Deno.test("verify rejects an empty extra directory", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.mkdir(join(d, "extra")));
  await expectReject(bundle, await root(), "integrity.file_added");
});

Deno.test("verify rejects a bundle without manifest.nxb", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.remove(join(d, MANIFEST_FILE)));
  await expectReject(bundle, await root(), "bundle.missing_file");
});

Deno.test("verify rejects an index.sig without its index.json", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.remove(join(d, INDEX_FILE)));
  await expectReject(bundle, await root(), "integrity.index_invalid");
});

Deno.test("verify rejects an index.json without its index.sig", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.remove(join(d, INDEX_SIG_FILE)));
  await expectReject(bundle, await root(), "integrity.index_invalid");
});

Deno.test("verify rejects a signed index listing a path with `..`", async () => {
  const bundle = await tampered("notes-1.0.0", (d) =>
    resignIndex(d, "dev", {
      entries: (e) => [...e, { path: "../outside", size: 0, sha256: sha256Hex(new Uint8Array()) }],
    }));
  await expectReject(bundle, await root(), "integrity.index_invalid");
});

Deno.test("verify rejects a signed index listing one file twice", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => resignIndex(d, "dev", { entries: (e) => [...e, e[0]] }),
  );
  await expectReject(bundle, await root(), "integrity.index_invalid");
});

Deno.test("verify rejects an index.sig with an unknown field", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => editJson(d, INDEX_SIG_FILE, (j) => ({ ...j, trusted: true })),
  );
  await expectReject(bundle, await root(), "integrity.index_invalid");
});

Deno.test("verify rejects an index.sig of an unknown format version", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => editJson(d, INDEX_SIG_FILE, (j) => ({ ...j, version: 2 })),
  );
  await expectReject(bundle, await root(), "bundle.unsupported_version");
});

Deno.test("verify rejects a signed index of an unknown format version", async () => {
  const bundle = await tampered("notes-1.0.0", (d) =>
    resignIndex(d, "dev", {
      encode: (files) => enc.encode(JSON.stringify({ format: INDEX_FORMAT, version: 2, files })),
    }));
  await expectReject(bundle, await root(), "bundle.unsupported_version");
});

// ---------------------------------------------------------------------------------------------
// Hostile manifest bytes that pass the signed index (re-signed by dev) and reach the decoder.

Deno.test("verify rejects a truncated manifest.nxb", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const bytes = await Deno.readFile(join(d, MANIFEST_FILE));
    await Deno.writeFile(join(d, MANIFEST_FILE), bytes.subarray(0, bytes.length >> 1));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.decode_error");
});

Deno.test("verify rejects a far-pointer loop in manifest.nxb", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await Deno.writeFile(join(d, MANIFEST_FILE), farPointerLoop());
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.decode_error");
});

Deno.test("verify rejects a manifest list length far beyond the message", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const bytes = await Deno.readFile(join(d, MANIFEST_FILE));
    const v = new DataView(bytes.buffer);
    // One segment; root struct at word 1 (2 data words), so `abilities` (ptr 2) is word 5.
    assert.equal(v.getUint32(0, true), 0, "one segment");
    assert.equal(v.getUint32(12, true), 2 | (14 << 16), "root: 2 data words, 14 pointers");
    const at = 8 + 5 * 8;
    assert.equal(v.getUint32(at, true) & 3, 1, "abilities is a list pointer");
    v.setUint32(at + 4, ((0x1fff_ffff << 3) | 6) >>> 0, true); // 2^29-1 pointer elements
    await Deno.writeFile(join(d, MANIFEST_FILE), bytes);
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.decode_error");
});

Deno.test("verify rejects a manifest with a 15-byte publisher", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, publisher: m.publisher!.subarray(0, 15) }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.invalid_field");
});

Deno.test("verify rejects a manifest with a 63-byte signature", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, signature: m.signature!.subarray(0, 63) }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.invalid_field");
});

Deno.test("verify rejects an invalid SemVer in the manifest", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, semver: "1.0" }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.invalid_field");
});

Deno.test("verify rejects an unknown manifest schemaVersion", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, schemaVersion: 9 }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.unsupported_version");
});

Deno.test("verify rejects a privilege ceiling violation", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.SESSION"],
    }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.privilege_ceiling");
});

Deno.test("verify rejects an export outside the app's namespace", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      exports: [{ ability: "notes.share", permission: "app.other.SHARE" }],
    }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "manifest.export_namespace");
});

Deno.test("verify rejects a `..` resource path", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({
      ...m,
      resources: [{ path: "assets/../../etc/passwd", kind: "icon" }],
    }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.unsafe_path");
});

Deno.test("verify rejects an absolute resource path", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, resources: [{ path: "/etc/passwd", kind: "icon" }] }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.unsafe_path");
});

Deno.test("verify rejects a resource that is not in the bundle", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(
      d,
      (m) => ({ ...m, resources: [{ path: "assets/gone.svg", kind: "icon" }] }),
    );
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.missing_file");
});

Deno.test("verify rejects a payload size that differs from the manifest", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, payloadSize: m.payloadSize + 1n }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "integrity.payload_size_mismatch");
});

Deno.test("verify rejects a swapped payload whose upstream signature does not verify", async () => {
  // The index is valid (dev re-signed it) but manifest.signature still covers the old payload.
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    payload[200] ^= 0x20;
    await replacePayload(d, payload);
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "policy.signature_invalid");
});

Deno.test("verify rejects an all-zero payload signature under a valid index", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    await editManifest(d, (m) => ({ ...m, signature: new Uint8Array(64) }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "policy.unsigned");
});

Deno.test("verify rejects a payload.elf that is not an ELF file", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    payload.set(enc.encode("#!/bin/sh\n"));
    await replacePayload(d, payload);
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.invalid_payload");
});

Deno.test("verify rejects a malformed sbom bound by digest and index", async () => {
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const sbom = enc.encode(JSON.stringify({ bomFormat: "SPDX" }) + "\n");
    await Deno.writeFile(join(d, SBOM_FILE), sbom);
    await editManifest(d, (m) => ({ ...m, sbomDigest: sha256(sbom) }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.invalid_meta");
});

Deno.test("verify rejects a migration step naming a missing script", async () => {
  const bundle = await tampered("notes-1.1.0", async (d) => {
    await editJson(d, MIGRATIONS_FILE, (j) => ({
      ...j,
      steps: [{ from: "1.0.0", to: "1.1.0", script: "migrations/nope.ts" }],
    }));
    await resignIndex(d, "dev");
  });
  await expectReject(bundle, await root(), "bundle.invalid_migrations");
});

// ---------------------------------------------------------------------------------------------
// Signature cryptography.

Deno.test("verify rejects a payload signature replayed as the index signature", async () => {
  // Cross-protocol reuse: dev signed bytes P as an upstream payload signature (no domain), and
  // P happens to be a valid index. The index signature is domain-separated, so it must fail.
  const dev = signerOf("dev");
  const replay: Signer = {
    publicKey: dev.publicKey,
    sign: (m) => {
      const p = m.subarray(enc.encode(INDEX_SIGNING_DOMAIN).length);
      const payloadSignature = dev.sign(p);
      assert.ok(verifyStrict(payloadSignature, p, dev.publicKey));
      return payloadSignature;
    },
  };
  const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, replay));
  await expectReject(bundle, await root(), "policy.signature_invalid");
});

Deno.test("verify rejects a non-canonical index signature (S + L)", async () => {
  const dev = signerOf("dev");
  const malleable: Signer = {
    publicKey: dev.publicKey,
    sign: (m) => {
      const good = dev.sign(m);
      const bad = withScalar(good, scalarOf(good) + L);
      assert.ok(scalarOf(bad) >= L && scalarOf(bad) < 2n ** 256n);
      assert.ok(verifyStrict(good, m, dev.publicKey) && !verifyStrict(bad, m, dev.publicKey));
      return bad;
    },
  };
  const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, malleable));
  await expectReject(bundle, await root(), "policy.signature_invalid");
});

Deno.test("verify rejects a small-order public key forged under dev's publisher id", async () => {
  // Publisher lookup comes first: dev is trusted, but the small-order key is not dev's key.
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => resignIndex(d, smallOrderForger, { publisher: DEV_ID }),
  );
  await expectReject(bundle, await root(), "policy.key_unknown");
});

Deno.test("verify rejects a small-order public key forgery even when that key is trusted", async () => {
  // A lax (ZIP-215, cofactored) verifier accepts this forgery for any message; nx must not.
  const probe = enc.encode("any message at all");
  assert.ok(ed.verify(smallOrderForger.sign(probe), probe, SMALL_ORDER_KEY, { zip215: true }));
  const pub = join(await tempDir(), "small.pub");
  await Deno.writeTextFile(pub, encodePublicKey(SMALL_ORDER_KEY));
  const r = join(await tempDir(), "root");
  const add = await nx(["pkg", "trust", "add", pub, "--json"], { root: r });
  if (add.code !== 0) {
    // Refusing the key up front is the stronger outcome.
    assert.equal(add.json?.code, "key.invalid", add.stdout);
    return;
  }
  const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, smallOrderForger));
  await expectReject(bundle, r, "policy.signature_invalid");
});

// ---------------------------------------------------------------------------------------------
// Policy decisions, in upstream order.

Deno.test("verify rejects an unknown publisher (empty root)", async () => {
  const bundle = await copyFixture("notes-1.0.0");
  const empty = await root([]);
  await expectReject(bundle, empty, "policy.publisher_unknown");
  // Not even the root's skeleton may be created by a read-only verb.
  await assert.rejects(Deno.lstat(empty), Deno.errors.NotFound);
});

Deno.test("verify rejects a bundle of a publisher the root does not trust", async () => {
  const bundle = await copyFixture("ledger-1.0.0"); // signed by store
  await expectReject(bundle, await root(["dev"]), "policy.publisher_unknown");
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

Deno.test("verify accepts a rotated key added to the publisher (control for key_unknown)", async () => {
  const r = await trustedRoot(["dev"]);
  const add = await nx([
    "pkg",
    "trust",
    "add",
    join(FIXTURES, "keys", "rogue.pub"),
    "--publisher",
    DEV_ID,
    "--json",
  ], { root: r });
  assert.equal(add.code, 0, add.stdout);
  const bundle = await tampered("notes-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    await editManifest(d, (m) => ({ ...m, signature: sign(payload, KEYS.rogue.seed) }));
    await resignIndex(d, "rogue", { publisher: DEV_ID });
  });
  const run = await expectAccept(bundle, r);
  assert.equal(run.json?.data.signer.publisher, DEV_ID);
  assert.equal(run.json?.data.signer.trusted, true);
});

Deno.test("verify rejects an unsupported signature algorithm", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, "dev", { alg: "rsa" }));
  await expectReject(bundle, await root(), "policy.alg_unsupported");
});

Deno.test("verify rejects an unsupported signature algorithm in permissive mode", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => resignIndex(d, "dev", { alg: "rsa" }));
  const r = await policyRoot([], { mode: "permissive" });
  await expectReject(bundle, r, "policy.alg_unsupported");
});

Deno.test("verify in permissive mode warns on an unknown publisher", async () => {
  const r = await policyRoot([], { mode: "permissive" });
  const run = await expectAccept(await copyFixture("notes-1.0.0"), r, false);
  assert.match(run.stderr, /warning: .*\(policy\.publisher_unknown\)/);
  assert.equal(run.json?.data.signer.trusted, false);
});

Deno.test("verify rejects a bad index signature in permissive mode", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, INDEX_FILE), 60));
  await expectReject(
    bundle,
    await policyRoot([], { mode: "permissive" }),
    "policy.signature_invalid",
  );
});

Deno.test("verify in audit-only mode warns on an unknown publisher", async () => {
  const r = await policyRoot([], { mode: "audit-only" });
  const run = await expectAccept(await copyFixture("notes-1.0.0"), r, false);
  assert.match(run.stderr, /warning: .*\(policy\.publisher_unknown\)/);
  assert.equal(run.json?.data.signer.trusted, false);
});

Deno.test("verify in audit-only mode still rejects an integrity failure", async () => {
  const r = await policyRoot([], { mode: "audit-only" });
  const bundle = await tampered("notes-1.0.0", (d) => flipByte(join(d, "payload.elf"), 100));
  await expectReject(bundle, r, "integrity.payload_digest_mismatch");
});

// ---------------------------------------------------------------------------------------------
// Structure: links, special files, unsafe names, caps.

Deno.test("verify rejects a symlink inside the bundle", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.symlink("icon.svg", join(d, "assets/alias.svg")),
  );
  await expectReject(bundle, await root(), "bundle.symlink");
});

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
  const bundle = await tampered("notes-1.0.0", (d) => mkfifo(join(d, "assets/pipe")));
  await expectReject(bundle, await root(), "bundle.special_file", { snapshot: snapshotNoFollow });
});

Deno.test("verify rejects a file name outside the allowed set", async () => {
  const bundle = await tampered("notes-1.0.0", (d) => Deno.writeTextFile(join(d, ".hidden"), "x"));
  await expectReject(bundle, await root(), "bundle.unsafe_path");
});

Deno.test("verify rejects a backslash in a file name", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.writeTextFile(join(d, "assets/..\\..\\evil"), "x"),
  );
  await expectReject(bundle, await root(), "bundle.unsafe_path");
});

Deno.test("verify rejects a path longer than 255 bytes", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.writeTextFile(join(d, "assets", "a".repeat(250)), "x"),
  );
  await expectReject(bundle, await root(), "bundle.unsafe_path");
});

Deno.test("verify rejects a payload over 16 MiB", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.truncate(join(d, "payload.elf"), 16 * MiB + 1),
  );
  await expectReject(bundle, await root(), "bundle.too_large");
});

Deno.test("verify rejects a manifest over 64 KiB", async () => {
  const bundle = await tampered(
    "notes-1.0.0",
    (d) => Deno.truncate(join(d, MANIFEST_FILE), 64 * 1024 + 1),
  );
  await expectReject(bundle, await root(), "bundle.too_large");
});

Deno.test("verify rejects a bundle over 64 MiB in total", async () => {
  // Five 15 MiB sparse assets: each under its own cap, together over the bundle cap.
  const bundle = await tampered("notes-1.0.0", async (d) => {
    for (let i = 0; i < 5; i++) {
      const path = join(d, "assets", `big${i}.bin`);
      await Deno.writeFile(path, new Uint8Array());
      await Deno.truncate(path, 15 * MiB);
    }
  });
  await expectReject(bundle, await root(), "bundle.too_large");
});

// The total cap is decided from lstat sizes after the walk: an over-cap bundle is refused
// without opening any file (detected through atime: it moves when a file is read).
Deno.test({
  name: "verify rejects a bundle over the total cap without reading its files",
}, async () => {
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

// ---------------------------------------------------------------------------------------------
// Payload-only (upstream v1) bundles and downgrades to them.

Deno.test("verify rejects a payload-only bundle on the default policy", async () => {
  await expectReject(
    await copyFixture("legacy-1.0.0"),
    await root(),
    "policy.payload_only_signature",
  );
});

Deno.test("verify accepts a payload-only bundle when the policy allows it", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const run = await expectAccept(await copyFixture("legacy-1.0.0"), r);
  assert.equal(run.json?.data.scheme, "payload-only");
});

Deno.test("verify rejects a flipped payload byte in an allowed payload-only bundle", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("legacy-1.0.0", (d) => flipByte(join(d, "payload.elf"), 100));
  await expectReject(bundle, r, "integrity.payload_digest_mismatch");
});

Deno.test("verify rejects a payload swapped with its digest in a payload-only bundle", async () => {
  // Nothing signs the manifest, so the attacker fixes the digest; the payload signature remains.
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("legacy-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    payload[200] ^= 0x20;
    await replacePayload(d, payload);
  });
  await expectReject(bundle, r, "policy.signature_invalid");
});

Deno.test("verify rejects an unsigned (all-zero signature) payload-only bundle", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered(
    "legacy-1.0.0",
    (d) => editManifest(d, (m) => ({ ...m, signature: new Uint8Array(64) })),
  );
  await expectReject(bundle, r, "policy.unsigned");
});

Deno.test("verify rejects a payload-only bundle signed by a key other than its publisher's", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("legacy-1.0.0", async (d) => {
    const payload = await Deno.readFile(join(d, "payload.elf"));
    await editManifest(d, (m) => ({ ...m, signature: sign(payload, KEYS.rogue.seed) }));
  });
  await expectReject(bundle, r, "policy.signature_invalid");
});

Deno.test("verify rejects a payload-only bundle of an untrusted publisher", async () => {
  const r = await policyRoot(["store"], { "allow-payload-only-signatures": "on" });
  await expectReject(await copyFixture("legacy-1.0.0"), r, "policy.publisher_unknown");
});

Deno.test("verify rejects an extra file in a payload-only bundle", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered(
    "legacy-1.0.0",
    (d) => Deno.writeTextFile(join(d, "meta/migrations.json"), '{"version":1,"steps":[]}\n'),
  );
  await expectReject(bundle, r, "integrity.file_added");
});

Deno.test("verify rejects a payload-only manifest edit whose repro record is not re-bound", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("legacy-1.0.0", (d) =>
    editManifest(d, (m) => ({
      ...m,
      capabilities: ["nexus.permission.NET"],
    }), { rebind: false }));
  await expectReject(bundle, r, "integrity.binding_mismatch");
});

Deno.test("verify rejects a downgrade that strips the index on the default policy", async () => {
  const bundle = await tampered("textkit-1.0.0", async (d) => {
    await Deno.remove(join(d, INDEX_FILE));
    await Deno.remove(join(d, INDEX_SIG_FILE));
    await editManifest(d, (m) => ({ ...m, capabilities: ["nexus.permission.NET"] }));
  });
  await expectReject(bundle, await root(), "policy.payload_only_signature");
});

Deno.test("verify rejects a downgrade that strips the index but keeps nx's extra files", async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("notes-1.1.0", async (d) => {
    await Deno.remove(join(d, INDEX_FILE));
    await Deno.remove(join(d, INDEX_SIG_FILE));
    await Deno.writeTextFile(join(d, "migrations/1.0.0_to_1.1.0.ts"), "Deno.exit(0);\n");
  });
  await expectReject(bundle, r, "integrity.file_added");
});

Deno.test({
  name: "verify rejects an empty extra directory in a payload-only bundle",
}, async () => {
  const r = await policyRoot(["dev"], { "allow-payload-only-signatures": "on" });
  const bundle = await tampered("legacy-1.0.0", (d) => Deno.mkdir(join(d, "extra")));
  await expectReject(bundle, r, "integrity.file_added");
});
