/**
 * Every attack class of `nx pkg verify`, decided by the pure verifier from in-memory facts: one
 * table row per class, each expecting one stable code (or acceptance, with the warnings a policy
 * mode downgraded a finding to). The bundles are the committed fixtures rebuilt in memory from
 * fixtures/catalog.ts with the packer's pure assembleBundle() (the same seeds and inputs as
 * `deno task fixtures`); the facts are built from them as core/store/bundle_reader.ts builds them
 * (bounded walk, total cap before any read, small meta files kept, the payload streamed through
 * the signature's SHA-512 challenge). What only the real process can show — the reader on real
 * links, FIFOs and sparse files, nothing written to the root or the bundle, exit classes and
 * markers — is the smoke set in tests/verify_attacks_test.ts.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import {
  type BundleFacts,
  capFor,
  CAPS,
  decodeManifest,
  encodeIndex,
  encodeIndexSig,
  encodeManifest,
  type EntryFact,
  type FileFact,
  INDEX_FILE,
  INDEX_FORMAT,
  INDEX_SIG_FILE,
  INDEX_SIGNING_DOMAIN,
  type IndexEntry,
  indexSigningMessage,
  isKeptInMemory,
  isSafeRelativePath,
  type Manifest,
  MANIFEST_FILE,
  manifestBinding,
  MIGRATIONS_FILE,
  payloadFileFor,
  REPRO_FILE,
  SBOM_FILE,
} from "../bundle/mod.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import { type ErrorCode, NxError } from "../errors.ts";
import { assembleBundle, parseManifestToml } from "../pack/mod.ts";
import { APPS, filler, KEY_NAMES, type KeyName, seedFor } from "../../fixtures/catalog.ts";
import { planChallenge } from "./challenge.ts";
import { sign, verifyStrict } from "./ed25519.ts";
import { fingerprint, keyPairFromSeed } from "./keys.ts";
import { PolicySchema, type PublishersFile } from "./policy.ts";
import { type VerifiedBundle, verifyBundle } from "./verify.ts";

const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const sha256Hex = (b: Uint8Array) => toHex(sha256(b));
const MiB = 1024 * 1024;
/** The group order of Ed25519 (RFC 8032 §5.1). */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const KEYS = Object.fromEntries(
  KEY_NAMES.map((n) => [n, keyPairFromSeed(seedFor(n))]),
) as Record<KeyName, ReturnType<typeof keyPairFromSeed>>;
const DEV_ID = fingerprint(KEYS.dev.publicKey);

// ---------------------------------------------------------------------------------------------
// Bundles in memory.

/** One entry of a bundle directory, as lstat would see it. */
type Node =
  | { type: "file"; bytes: Uint8Array; nlink?: number }
  /** A file of `size` bytes the reader never opens (over a cap): a sparse file on disk. */
  | { type: "sparse"; size: number }
  | { type: "dir" | "symlink" | "other" };
/** Bundle-relative path → entry; parent directories of every path are implied. */
type Tree = Map<string, Node>;

/** The fixture's files, built as fixtures/generate.ts builds them (without touching disk). */
function fixtureFiles(id: string): Map<string, Uint8Array> {
  const app = APPS.find((a) => a.id === id);
  if (!app) throw new Error(`no fixture ${id}`);
  const payload = filler(`${app.id} payload`, app.payloadBytes, true);
  let toml = app.toml;
  if (app.key === "payload-only") {
    toml += `publisher = "${DEV_ID}"\nsig = "${toHex(sign(payload, KEYS.dev.seed))}"\n`;
  }
  const spec = parseManifestToml(toml);
  assert.equal(payloadFileFor(spec.payloadKind), "payload.elf");
  const extraFiles = new Map(
    Object.entries(app.files).map(([path, content]) => [
      path,
      typeof content === "string"
        ? enc.encode(content)
        : filler(`${app.id} ${path}`, content, false),
    ]),
  );
  return assembleBundle({
    spec,
    manifestToml: enc.encode(toml),
    payload,
    extraFiles,
    key: app.key === "payload-only" ? undefined : KEYS[app.key],
    sourceDateEpoch: 0,
    tool: "verify attacks test",
  }).files;
}

const builtFixtures = new Map<string, Map<string, Uint8Array>>();

/** A fresh copy of a fixture bundle, to be attacked. */
function fixture(id: string): Tree {
  if (!builtFixtures.has(id)) builtFixtures.set(id, fixtureFiles(id));
  return new Map(
    [...builtFixtures.get(id)!].map((
      [path, bytes],
    ) => [path, { type: "file", bytes: bytes.slice() }]),
  );
}

/** A copy of a fixture with `attack` applied to it. */
function tampered(id: string, attack: (t: Tree) => void): () => Tree {
  return () => {
    const tree = fixture(id);
    attack(tree);
    return tree;
  };
}

function bytesOf(tree: Tree, path: string): Uint8Array {
  const node = tree.get(path);
  if (node?.type !== "file") throw new Error(`${path} is not a file of the bundle`);
  return node.bytes;
}

function put(tree: Tree, path: string, bytes: Uint8Array): void {
  tree.set(path, { type: "file", bytes });
}

/** Flips one bit of the byte at `offset` (negative counts from the end). */
function flipByte(tree: Tree, path: string, offset: number): void {
  const bytes = bytesOf(tree, path);
  bytes[offset < 0 ? bytes.length + offset : offset] ^= 0x01;
}

function rename(tree: Tree, from: string, to: string): void {
  tree.set(to, tree.get(from)!);
  tree.delete(from);
}

/** BundleFacts exactly as core/store/bundle_reader.ts's readBundle() builds them from `tree`. */
function factsOf(tree: Tree, publishers: PublishersFile): BundleFacts {
  const entries = new Map<string, EntryFact>();
  for (const [path, node] of tree) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      entries.set(dir, { path: dir, type: "dir", size: 0, nlink: 2 });
    }
    const type = node.type === "sparse" ? "file" : node.type;
    const size = node.type === "file" ? node.bytes.length : node.type === "sparse" ? node.size : 0;
    const nlink = node.type === "file" ? node.nlink ?? 1 : 1;
    entries.set(path, { path, type, size, nlink });
  }
  const sorted = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  const facts: BundleFacts = { rootType: "dir", entries: sorted, walkLimitHit: false, files: {} };
  // The walk stops at one entry past the count cap or at the first entry below the depth cap.
  facts.walkLimitHit = sorted.length > CAPS.files ||
    sorted.some((e) => e.path.split("/").length > CAPS.depth);
  // The total cap is decided from lstat sizes, before a single byte is read.
  const total = sorted.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
  if (facts.walkLimitHit || total > CAPS.total) return facts;
  const readable = sorted.filter((e) =>
    e.type === "file" && e.nlink === 1 && isSafeRelativePath(e.path) && e.size <= capFor(e.path)
  );
  const read = (e: EntryFact): Uint8Array => {
    const node = tree.get(e.path)!;
    if (node.type !== "file") throw new Error(`the reader would read sparse file ${e.path}`);
    return node.bytes;
  };
  const fact = (path: string, bytes: Uint8Array, keep: boolean): FileFact => ({
    path,
    size: bytes.length,
    sha256: sha256Hex(bytes),
    head: bytes.slice(0, 16),
    bytes: keep ? bytes : undefined,
  });
  const small = new Map<string, Uint8Array>();
  for (const e of readable.filter((e) => isKeptInMemory(e.path))) {
    facts.files[e.path] = fact(e.path, read(e), true);
    small.set(e.path, read(e));
  }
  const challenge = planChallenge(small, publishers);
  for (const e of readable.filter((e) => !isKeptInMemory(e.path))) {
    facts.files[e.path] = fact(e.path, read(e), false);
    if (challenge?.path === e.path) {
      facts.challenge = {
        path: e.path,
        prefixHex: toHex(challenge.prefix),
        sha512: new Uint8Array(
          createHash("sha512").update(challenge.prefix).update(read(e)).digest(),
        ),
      };
    }
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// The attacker's toolkit (the same moves as the CLI suite's, on a Tree).

/** Something that signs index messages under a public key (a fixture key or a forgery). */
interface Signer {
  publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

function signerOf(name: KeyName): Signer {
  const pair = KEYS[name];
  return { publicKey: pair.publicKey, sign: (m) => sign(m, pair.seed) };
}

interface ResignOptions {
  /** The publisher id index.sig claims (default: the signer's own fingerprint). */
  publisher?: string;
  alg?: string;
  entries?: (entries: IndexEntry[]) => IndexEntry[];
  encode?: (entries: IndexEntry[]) => Uint8Array;
}

/** Rewrites meta/index.json from the files present and signs it with `signer`. */
function resignIndex(tree: Tree, signer: KeyName | Signer, opts: ResignOptions = {}): void {
  const s = typeof signer === "string" ? signerOf(signer) : signer;
  let entries: IndexEntry[] = [...tree]
    .filter(([path, node]) =>
      node.type === "file" && path !== INDEX_FILE && path !== INDEX_SIG_FILE
    )
    .map(([path]) => ({
      path,
      size: bytesOf(tree, path).length,
      sha256: sha256Hex(bytesOf(tree, path)),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  if (opts.entries) entries = opts.entries(entries);
  const index = (opts.encode ?? encodeIndex)(entries);
  put(tree, INDEX_FILE, index);
  put(
    tree,
    INDEX_SIG_FILE,
    encodeIndexSig({
      alg: opts.alg ?? "ed25519",
      publisher: opts.publisher ?? fingerprint(s.publicKey),
      key: toHex(s.publicKey),
      signature: toHex(s.sign(indexSigningMessage(index))),
    }),
  );
}

/** Rewrites a JSON file of the bundle; returns the new bytes. */
function editJson(
  tree: Tree,
  path: string,
  edit: (json: Record<string, unknown>) => unknown,
): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(bytesOf(tree, path)));
  const bytes = enc.encode(JSON.stringify(edit(json), null, 2) + "\n");
  put(tree, path, bytes);
  return bytes;
}

/**
 * Decodes manifest.nxb, applies `edit`, re-encodes it. With `rebind` (default) the repro record
 * is re-bound to the edited manifest and reproDigest updated, as a careful attacker would.
 */
function editManifest(tree: Tree, edit: (m: Manifest) => Manifest, { rebind = true } = {}): void {
  let m = edit(decodeManifest(bytesOf(tree, MANIFEST_FILE)));
  if (rebind) {
    const repro = editJson(
      tree,
      REPRO_FILE,
      (j) => ({ ...j, manifest_binding_sha256: manifestBinding(m) }),
    );
    m = { ...m, reproDigest: sha256(repro) };
  }
  put(tree, MANIFEST_FILE, encodeManifest(m));
}

/** Replaces payload.elf and makes the manifest's digest and size agree with it. */
function replacePayload(tree: Tree, payload: Uint8Array): void {
  put(tree, "payload.elf", payload);
  editManifest(
    tree,
    (m) => ({ ...m, payloadDigest: sha256(payload), payloadSize: BigInt(payload.length) }),
  );
}

const addNet = (m: Manifest): Manifest => ({
  ...m,
  capabilities: [...m.capabilities, "nexus.permission.NET"],
});

/** Offset of the first character of a JSON string value `"key": "…"` in a file's text. */
function valueOffset(tree: Tree, path: string, key: string): number {
  const text = new TextDecoder().decode(bytesOf(tree, path));
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

/** A payload signature replayed as the index signature (cross-protocol reuse). */
const replaySigner: Signer = {
  publicKey: KEYS.dev.publicKey,
  sign: (m) => {
    const p = m.subarray(enc.encode(INDEX_SIGNING_DOMAIN).length);
    const payloadSignature = signerOf("dev").sign(p);
    assert.ok(verifyStrict(payloadSignature, p, KEYS.dev.publicKey));
    return payloadSignature;
  },
};

/** dev's signature with S + L: the same point equation, a non-canonical scalar. */
const malleableSigner: Signer = {
  publicKey: KEYS.dev.publicKey,
  sign: (m) => {
    const good = signerOf("dev").sign(m);
    const bad = withScalar(good, scalarOf(good) + L);
    assert.ok(scalarOf(bad) >= L && scalarOf(bad) < 2n ** 256n);
    assert.ok(
      verifyStrict(good, m, KEYS.dev.publicKey) && !verifyStrict(bad, m, KEYS.dev.publicKey),
    );
    return bad;
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

/** The fixture manifest with its `abilities` list claiming 2^29-1 pointer elements. */
function hugeListLength(t: Tree): void {
  const bytes = bytesOf(t, MANIFEST_FILE);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // One segment; root struct at word 1 (2 data words), so `abilities` (ptr 2) is word 5.
  assert.equal(v.getUint32(0, true), 0, "one segment");
  assert.equal(v.getUint32(12, true), 2 | (14 << 16), "root: 2 data words, 14 pointers");
  const at = 8 + 5 * 8;
  assert.equal(v.getUint32(at, true) & 3, 1, "abilities is a list pointer");
  v.setUint32(at + 4, ((0x1fff_ffff << 3) | 6) >>> 0, true);
}

// ---------------------------------------------------------------------------------------------
// Roots, as policy values.

const publisherOf = (
  key: Uint8Array,
  extra: Partial<PublishersFile["publishers"][number]> = {},
) => ({
  id: fingerprint(key),
  enabled: true,
  allowed_algs: ["ed25519"],
  keys: [toHex(key)],
  ...extra,
});

/** publishers.toml of a root that ran `nx pkg trust add <name>.pub` for each name. */
function trusting(...names: KeyName[]): PublishersFile {
  return { version: 1, publishers: names.map((n) => publisherOf(KEYS[n].publicKey)) };
}

const ROOTS = {
  dev: trusting("dev"),
  devStore: trusting("dev", "store"),
  store: trusting("store"),
  empty: trusting(),
  devDisabled: { version: 1, publishers: [publisherOf(KEYS.dev.publicKey, { enabled: false })] },
  /** `trust add rogue.pub --publisher <dev>`: a rotated key under dev. */
  devRotated: {
    version: 1,
    publishers: [
      publisherOf(KEYS.dev.publicKey, {
        keys: [toHex(KEYS.dev.publicKey), toHex(KEYS.rogue.publicKey)].sort(),
      }),
    ],
  },
  /** A hand-written publishers.toml trusting the small-order key (`trust add` refuses it). */
  smallOrder: { version: 1, publishers: [publisherOf(SMALL_ORDER_KEY)] },
} satisfies Record<string, PublishersFile>;

// ---------------------------------------------------------------------------------------------
// The table.

type Outcome = { fails: ErrorCode } | { warns: ErrorCode[] };
const OK: Outcome = { warns: [] };
const warns = (...codes: ErrorCode[]): Outcome => ({ warns: codes });

interface Row {
  /** The attack class, in the words of the CLI suite it replaced. */
  name: string;
  bundle: () => Tree;
  root?: PublishersFile;
  mode?: "strict" | "permissive" | "audit-only";
  payloadOnly?: boolean;
  /** What the bundle path is, when not a directory. */
  rootType?: "missing" | "file";
  expect: ErrorCode | Outcome;
  check?: (verified: VerifiedBundle) => void;
}

const POSITIVE: Row[] = [
  ...APPS.map((app): Row => ({
    name: `the committed fixture ${app.id} (control)`,
    bundle: () => fixture(app.id),
    root: ROOTS.devStore,
    payloadOnly: true,
    expect: OK,
    check: (v) => {
      assert.equal(v.manifest.name, app.id.split("-")[0]);
      assert.equal(v.scheme, app.key === "payload-only" ? "payload-only" : "nx-index");
    },
  })),
  {
    name: "a bundle the toolkit rebuilt and re-signed with the dev key (control)",
    bundle: tampered("notes-1.1.0", (t) => {
      editManifest(t, addNet);
      resignIndex(t, "dev");
    }),
    expect: OK,
    check: (v) =>
      assert.deepEqual(v.manifest.capabilities, [
        "nexus.permission.STORAGE",
        "nexus.permission.NET",
      ]),
  },
  {
    name: "a rotated key added to the publisher (control for key_unknown)",
    bundle: tampered("notes-1.0.0", (t) => {
      const payload = bytesOf(t, "payload.elf");
      editManifest(t, (m) => ({ ...m, signature: sign(payload, KEYS.rogue.seed) }));
      resignIndex(t, "rogue", { publisher: DEV_ID });
    }),
    root: ROOTS.devRotated,
    expect: OK,
    check: (v) => assert.deepEqual([v.signer.publisher, v.signer.trusted], [DEV_ID, true]),
  },
  {
    name: "a payload-only bundle when the policy allows it",
    bundle: () => fixture("legacy-1.0.0"),
    payloadOnly: true,
    expect: OK,
    check: (v) => assert.equal(v.scheme, "payload-only"),
  },
];

const FLIPPED_BYTES: Row[] = [
  ["payload.elf", 100, "integrity.payload_digest_mismatch", "notes-1.0.0"],
  [MANIFEST_FILE, -3, "integrity.manifest_digest_mismatch", "notes-1.0.0"],
  [SBOM_FILE, 40, "integrity.sbom_digest_mismatch", "notes-1.0.0"],
  [REPRO_FILE, 40, "integrity.repro_digest_mismatch", "notes-1.0.0"],
  ["assets/icon.svg", 10, "integrity.file_digest_mismatch", "notes-1.0.0"],
  ["migrations/1.0.0_to_1.1.0.ts", 20, "integrity.file_digest_mismatch", "notes-1.1.0"],
  [MIGRATIONS_FILE, 20, "integrity.file_digest_mismatch", "notes-1.1.0"],
  [INDEX_FILE, 60, "policy.signature_invalid", "notes-1.0.0"],
].map(([path, at, code, id]) => ({
  name: `a flipped ${path} byte`,
  bundle: tampered(id as string, (t) => flipByte(t, path as string, at as number)),
  expect: code as ErrorCode,
}));

const INDEX_SIG: Row[] = [
  {
    name: "a flipped byte in the meta/index.sig signature hex",
    bundle: tampered("notes-1.0.0", (t) => {
      const text = new TextDecoder().decode(bytesOf(t, INDEX_SIG_FILE));
      // A hex digit whose low bit can flip and stay hex (0-9, b-e), so the file still parses.
      let at = valueOffset(t, INDEX_SIG_FILE, "signature");
      while (!/[0-9b-e]/.test(text[at])) at++;
      flipByte(t, INDEX_SIG_FILE, at);
    }),
    expect: "policy.signature_invalid",
  },
  {
    name: "an index.sig that names another key under the same publisher",
    bundle: tampered(
      "notes-1.0.0",
      (t) => flipByte(t, INDEX_SIG_FILE, valueOffset(t, INDEX_SIG_FILE, "key")),
    ),
    expect: "policy.key_unknown",
  },
  {
    name: "an index.sig with an unknown field",
    bundle: tampered(
      "notes-1.0.0",
      (t) => editJson(t, INDEX_SIG_FILE, (j) => ({ ...j, trusted: true })),
    ),
    expect: "integrity.index_invalid",
  },
  {
    name: "an index.sig of an unknown format version",
    bundle: tampered(
      "notes-1.0.0",
      (t) => editJson(t, INDEX_SIG_FILE, (j) => ({ ...j, version: 2 })),
    ),
    expect: "bundle.unsupported_version",
  },
  {
    name: "a signed index of an unknown format version",
    bundle: tampered("notes-1.0.0", (t) =>
      resignIndex(t, "dev", {
        encode: (files) => enc.encode(JSON.stringify({ format: INDEX_FORMAT, version: 2, files })),
      })),
    expect: "bundle.unsupported_version",
  },
];

const MANIFEST_EDITS: Row[] = [
  {
    name: "a capability added to a signed manifest",
    bundle: tampered("notes-1.0.0", (t) => editManifest(t, addNet, { rebind: false })),
    expect: "integrity.manifest_digest_mismatch",
  },
  {
    name: "a capability added and the index re-signed by a rogue key claiming dev",
    bundle: tampered("notes-1.0.0", (t) => {
      editManifest(t, addNet);
      resignIndex(t, "rogue", { publisher: DEV_ID });
    }),
    expect: "policy.key_unknown",
  },
  {
    name: "a capability added and the index re-signed by the rogue publisher",
    bundle: tampered("notes-1.0.0", (t) => {
      editManifest(t, addNet);
      resignIndex(t, "rogue");
    }),
    expect: "policy.publisher_unknown",
  },
  {
    name: "a trusted publisher re-signing another publisher's bundle",
    bundle: tampered("notes-1.0.0", (t) => {
      editManifest(t, addNet);
      resignIndex(t, "store");
    }),
    root: ROOTS.devStore,
    expect: "policy.publisher_mismatch",
  },
  {
    name: "a manifest edit whose repro record is not re-bound",
    bundle: tampered("notes-1.0.0", (t) => {
      editManifest(t, addNet, { rebind: false });
      resignIndex(t, "dev");
    }),
    expect: "integrity.binding_mismatch",
  },
];

const FILE_SET: Row[] = [
  {
    name: "an added file",
    bundle: tampered("notes-1.0.0", (t) => put(t, "assets/extra.bin", enc.encode("smuggled\n"))),
    expect: "integrity.file_added",
  },
  {
    name: "a removed file",
    bundle: tampered("notes-1.0.0", (t) => t.delete("assets/icon.svg")),
    expect: "integrity.file_missing",
  },
  {
    name: "a renamed file",
    bundle: tampered("notes-1.0.0", (t) => rename(t, "assets/icon.svg", "assets/icon2.svg")),
    expect: "integrity.file_missing",
  },
  {
    name: "an empty extra directory",
    bundle: tampered("notes-1.0.0", (t) => t.set("extra", { type: "dir" })),
    expect: "integrity.file_added",
  },
  {
    name: "a bundle without manifest.nxb",
    bundle: tampered("notes-1.0.0", (t) => t.delete(MANIFEST_FILE)),
    expect: "bundle.missing_file",
  },
  {
    name: "an index.sig without its index.json",
    bundle: tampered("notes-1.0.0", (t) => t.delete(INDEX_FILE)),
    expect: "integrity.index_invalid",
  },
  {
    name: "an index.json without its index.sig",
    bundle: tampered("notes-1.0.0", (t) => t.delete(INDEX_SIG_FILE)),
    expect: "integrity.index_invalid",
  },
  {
    name: "a signed index listing a path with `..`",
    bundle: tampered("notes-1.0.0", (t) =>
      resignIndex(t, "dev", {
        entries: (
          e,
        ) => [...e, { path: "../outside", size: 0, sha256: sha256Hex(new Uint8Array()) }],
      })),
    expect: "integrity.index_invalid",
  },
  {
    name: "a signed index listing one file twice",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, "dev", { entries: (e) => [...e, e[0]] })),
    expect: "integrity.index_invalid",
  },
];

/** Hostile manifest bytes that pass the signed index (re-signed by dev) and reach the decoder. */
const resigned = (edit: (t: Tree) => void) =>
  tampered("notes-1.0.0", (t) => {
    edit(t);
    resignIndex(t, "dev");
  });
const resignedManifest = (edit: (m: Manifest) => Manifest) =>
  resigned((t) => editManifest(t, edit));

const HOSTILE_MANIFEST: Row[] = [
  {
    name: "a truncated manifest.nxb",
    bundle: resigned((t) => {
      const bytes = bytesOf(t, MANIFEST_FILE);
      put(t, MANIFEST_FILE, bytes.slice(0, bytes.length >> 1));
    }),
    expect: "manifest.decode_error",
  },
  {
    name: "a far-pointer loop in manifest.nxb",
    bundle: resigned((t) => put(t, MANIFEST_FILE, farPointerLoop())),
    expect: "manifest.decode_error",
  },
  {
    name: "a manifest list length far beyond the message",
    bundle: resigned(hugeListLength),
    expect: "manifest.decode_error",
  },
  {
    name: "a manifest with a 15-byte publisher",
    bundle: resignedManifest((m) => ({ ...m, publisher: m.publisher!.subarray(0, 15) })),
    expect: "manifest.invalid_field",
  },
  {
    name: "a manifest with a 63-byte signature",
    bundle: resignedManifest((m) => ({ ...m, signature: m.signature!.subarray(0, 63) })),
    expect: "manifest.invalid_field",
  },
  {
    name: "an invalid SemVer in the manifest",
    bundle: resignedManifest((m) => ({ ...m, semver: "1.0" })),
    expect: "manifest.invalid_field",
  },
  {
    name: "an unknown manifest schemaVersion",
    bundle: resignedManifest((m) => ({ ...m, schemaVersion: 9 })),
    expect: "manifest.unsupported_version",
  },
  {
    name: "a privilege ceiling violation",
    bundle: resignedManifest((m) => ({
      ...m,
      capabilities: [...m.capabilities, "nexus.permission.SESSION"],
    })),
    expect: "manifest.privilege_ceiling",
  },
  {
    name: "an export outside the app's namespace",
    bundle: resignedManifest((m) => ({
      ...m,
      exports: [{ ability: "notes.share", permission: "app.other.SHARE" }],
    })),
    expect: "manifest.export_namespace",
  },
  {
    name: "a `..` resource path",
    bundle: resignedManifest((m) => ({
      ...m,
      resources: [{ path: "assets/../../etc/passwd", kind: "icon" }],
    })),
    expect: "bundle.unsafe_path",
  },
  {
    name: "an absolute resource path",
    bundle: resignedManifest((m) => ({ ...m, resources: [{ path: "/etc/passwd", kind: "icon" }] })),
    expect: "bundle.unsafe_path",
  },
  {
    name: "a resource that is not in the bundle",
    bundle: resignedManifest((m) => ({
      ...m,
      resources: [{ path: "assets/gone.svg", kind: "icon" }],
    })),
    expect: "bundle.missing_file",
  },
  {
    name: "a payload size that differs from the manifest",
    bundle: resignedManifest((m) => ({ ...m, payloadSize: m.payloadSize + 1n })),
    expect: "integrity.payload_size_mismatch",
  },
  {
    // The index is valid (dev re-signed it) but manifest.signature still covers the old payload.
    name: "a swapped payload whose upstream signature does not verify",
    bundle: resigned((t) => {
      const payload = bytesOf(t, "payload.elf").slice();
      payload[200] ^= 0x20;
      replacePayload(t, payload);
    }),
    expect: "policy.signature_invalid",
  },
  {
    name: "an all-zero payload signature under a valid index",
    bundle: resignedManifest((m) => ({ ...m, signature: new Uint8Array(64) })),
    expect: "policy.unsigned",
  },
  {
    name: "a payload.elf that is not an ELF file",
    bundle: resigned((t) => {
      const payload = bytesOf(t, "payload.elf").slice();
      payload.set(enc.encode("#!/bin/sh\n"));
      replacePayload(t, payload);
    }),
    expect: "bundle.invalid_payload",
  },
  {
    name: "a malformed sbom bound by digest and index",
    bundle: resigned((t) => {
      const sbom = enc.encode(JSON.stringify({ bomFormat: "SPDX" }) + "\n");
      put(t, SBOM_FILE, sbom);
      editManifest(t, (m) => ({ ...m, sbomDigest: sha256(sbom) }));
    }),
    expect: "bundle.invalid_meta",
  },
  {
    name: "a migration step naming a missing script",
    bundle: tampered("notes-1.1.0", (t) => {
      editJson(t, MIGRATIONS_FILE, (j) => ({
        ...j,
        steps: [{ from: "1.0.0", to: "1.1.0", script: "migrations/nope.ts" }],
      }));
      resignIndex(t, "dev");
    }),
    expect: "bundle.invalid_migrations",
  },
];

const CRYPTO: Row[] = [
  {
    name: "a payload signature replayed as the index signature",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, replaySigner)),
    expect: "policy.signature_invalid",
  },
  {
    name: "a non-canonical index signature (S + L)",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, malleableSigner)),
    expect: "policy.signature_invalid",
  },
  {
    // Publisher lookup comes first: dev is trusted, but the small-order key is not dev's key.
    name: "a small-order public key forged under dev's publisher id",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, smallOrderForger, { publisher: DEV_ID })),
    expect: "policy.key_unknown",
  },
  {
    // A lax (ZIP-215, cofactored) verifier accepts this forgery for any message; nx must not.
    name: "a small-order public key forgery even when that key is trusted",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, smallOrderForger)),
    root: ROOTS.smallOrder,
    expect: "policy.signature_invalid",
  },
];

const notes = () => fixture("notes-1.0.0");
const POLICY: Row[] = [
  {
    name: "an unknown publisher (empty root)",
    bundle: notes,
    root: ROOTS.empty,
    expect: "policy.publisher_unknown",
  },
  {
    name: "a bundle of a publisher the root does not trust",
    bundle: () => fixture("ledger-1.0.0"), // signed by store
    expect: "policy.publisher_unknown",
  },
  {
    name: "a disabled publisher",
    bundle: notes,
    root: ROOTS.devDisabled,
    expect: "policy.disabled",
  },
  {
    name: "an unsupported signature algorithm",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, "dev", { alg: "rsa" })),
    expect: "policy.alg_unsupported",
  },
  {
    name: "an unsupported signature algorithm in permissive mode",
    bundle: tampered("notes-1.0.0", (t) => resignIndex(t, "dev", { alg: "rsa" })),
    root: ROOTS.empty,
    mode: "permissive",
    expect: "policy.alg_unsupported",
  },
  {
    name: "an unknown publisher in permissive mode (a warning)",
    bundle: notes,
    root: ROOTS.empty,
    mode: "permissive",
    expect: warns("policy.publisher_unknown"),
  },
  {
    name: "a bad index signature in permissive mode",
    bundle: tampered("notes-1.0.0", (t) => flipByte(t, INDEX_FILE, 60)),
    root: ROOTS.empty,
    mode: "permissive",
    expect: "policy.signature_invalid",
  },
  {
    name: "an unknown publisher in audit-only mode (a warning)",
    bundle: notes,
    root: ROOTS.empty,
    mode: "audit-only",
    expect: warns("policy.publisher_unknown"),
  },
  {
    name: "an integrity failure in audit-only mode",
    bundle: tampered("notes-1.0.0", (t) => flipByte(t, "payload.elf", 100)),
    root: ROOTS.empty,
    mode: "audit-only",
    expect: "integrity.payload_digest_mismatch",
  },
];

/** A sparse file of `size` bytes at `path`. */
const sparse = (t: Tree, path: string, size: number) => t.set(path, { type: "sparse", size });

const STRUCTURE: Row[] = [
  {
    name: "a symlink inside the bundle",
    bundle: tampered("notes-1.0.0", (t) => t.set("assets/alias.svg", { type: "symlink" })),
    expect: "bundle.symlink",
  },
  {
    name: "a symlink pointing outside the bundle",
    bundle: tampered("notes-1.0.0", (t) => t.set("assets/icon.svg", { type: "symlink" })),
    expect: "bundle.symlink",
  },
  {
    name: "a hardlink",
    bundle: tampered(
      "notes-1.0.0",
      (t) => t.set("payload.elf", { type: "file", bytes: bytesOf(t, "payload.elf"), nlink: 2 }),
    ),
    expect: "bundle.hardlink",
  },
  {
    name: "a FIFO",
    bundle: tampered("notes-1.0.0", (t) => t.set("assets/pipe", { type: "other" })),
    expect: "bundle.special_file",
  },
  {
    name: "a file name outside the allowed set",
    bundle: tampered("notes-1.0.0", (t) => put(t, ".hidden", enc.encode("x"))),
    expect: "bundle.unsafe_path",
  },
  {
    name: "a backslash in a file name",
    bundle: tampered("notes-1.0.0", (t) => put(t, "assets/..\\..\\evil", enc.encode("x"))),
    expect: "bundle.unsafe_path",
  },
  {
    name: "a path longer than 255 bytes",
    bundle: tampered("notes-1.0.0", (t) => put(t, `assets/${"a".repeat(250)}`, enc.encode("x"))),
    expect: "bundle.unsafe_path",
  },
  {
    name: "a payload over 16 MiB",
    bundle: tampered("notes-1.0.0", (t) => sparse(t, "payload.elf", 16 * MiB + 1)),
    expect: "bundle.too_large",
  },
  {
    name: "a manifest over 64 KiB",
    bundle: tampered("notes-1.0.0", (t) => sparse(t, MANIFEST_FILE, 64 * 1024 + 1)),
    expect: "bundle.too_large",
  },
  {
    // Five 15 MiB sparse assets: each under its own cap, together over the bundle cap (decided
    // from lstat sizes: factsOf, like the reader, reads none of them).
    name: "a bundle over 64 MiB in total",
    bundle: tampered("notes-1.0.0", (t) => {
      for (let i = 0; i < 5; i++) sparse(t, `assets/big${i}.bin`, 15 * MiB);
    }),
    expect: "bundle.too_large",
  },
  {
    name: "more than 4096 files",
    bundle: tampered("notes-1.0.0", (t) => {
      for (let i = 0; i < 4100; i++) put(t, `assets/many/f${i}`, new Uint8Array());
    }),
    expect: "bundle.too_many_files",
  },
  {
    name: "nesting deeper than 16 levels",
    bundle: tampered("notes-1.0.0", (t) => t.set(Array(17).fill("n").join("/"), { type: "dir" })),
    expect: "bundle.too_many_files",
  },
  {
    name: "a bundle path that is a regular file",
    bundle: notes,
    rootType: "file",
    expect: "bundle.not_directory",
  },
  {
    name: "a bundle path that does not exist",
    bundle: notes,
    rootType: "missing",
    expect: "bundle.not_found",
  },
];

const legacy = (attack: (t: Tree) => void) => tampered("legacy-1.0.0", attack);
const PAYLOAD_ONLY: Row[] = [
  {
    name: "a payload-only bundle on the default policy",
    bundle: () => fixture("legacy-1.0.0"),
    expect: "policy.payload_only_signature",
  },
  {
    name: "a flipped payload byte in an allowed payload-only bundle",
    bundle: legacy((t) => flipByte(t, "payload.elf", 100)),
    payloadOnly: true,
    expect: "integrity.payload_digest_mismatch",
  },
  {
    // Nothing signs the manifest, so the attacker fixes the digest; the payload signature remains.
    name: "a payload swapped with its digest in a payload-only bundle",
    bundle: legacy((t) => {
      const payload = bytesOf(t, "payload.elf").slice();
      payload[200] ^= 0x20;
      replacePayload(t, payload);
    }),
    payloadOnly: true,
    expect: "policy.signature_invalid",
  },
  {
    name: "an unsigned (all-zero signature) payload-only bundle",
    bundle: legacy((t) => editManifest(t, (m) => ({ ...m, signature: new Uint8Array(64) }))),
    payloadOnly: true,
    expect: "policy.unsigned",
  },
  {
    name: "a payload-only bundle signed by a key other than its publisher's",
    bundle: legacy((t) => {
      const payload = bytesOf(t, "payload.elf");
      editManifest(t, (m) => ({ ...m, signature: sign(payload, KEYS.rogue.seed) }));
    }),
    payloadOnly: true,
    expect: "policy.signature_invalid",
  },
  {
    name: "a payload-only bundle of an untrusted publisher",
    bundle: () => fixture("legacy-1.0.0"),
    root: ROOTS.store,
    payloadOnly: true,
    expect: "policy.publisher_unknown",
  },
  {
    name: "an extra file in a payload-only bundle",
    bundle: legacy((t) => put(t, MIGRATIONS_FILE, enc.encode('{"version":1,"steps":[]}\n'))),
    payloadOnly: true,
    expect: "integrity.file_added",
  },
  {
    name: "a payload-only manifest edit whose repro record is not re-bound",
    bundle: legacy((t) =>
      editManifest(t, (m) => ({ ...m, capabilities: ["nexus.permission.NET"] }), { rebind: false })
    ),
    payloadOnly: true,
    expect: "integrity.binding_mismatch",
  },
  {
    name: "a downgrade that strips the index on the default policy",
    bundle: tampered("textkit-1.0.0", (t) => {
      t.delete(INDEX_FILE);
      t.delete(INDEX_SIG_FILE);
      editManifest(t, (m) => ({ ...m, capabilities: ["nexus.permission.NET"] }));
    }),
    expect: "policy.payload_only_signature",
  },
  {
    name: "a downgrade that strips the index but keeps nx's extra files",
    bundle: tampered("notes-1.1.0", (t) => {
      t.delete(INDEX_FILE);
      t.delete(INDEX_SIG_FILE);
      put(t, "migrations/1.0.0_to_1.1.0.ts", enc.encode("Deno.exit(0);\n"));
    }),
    payloadOnly: true,
    expect: "integrity.file_added",
  },
  {
    name: "an empty extra directory in a payload-only bundle",
    bundle: legacy((t) => t.set("extra", { type: "dir" })),
    payloadOnly: true,
    expect: "integrity.file_added",
  },
];

const TABLE: [string, Row[]][] = [
  ["accepts", POSITIVE],
  ["one flipped byte", FLIPPED_BYTES],
  ["the index signature file", INDEX_SIG],
  ["manifest edits", MANIFEST_EDITS],
  ["the file set must equal the signed index", FILE_SET],
  ["hostile manifest bytes", HOSTILE_MANIFEST],
  ["signature cryptography", CRYPTO],
  ["policy decisions", POLICY],
  ["structure", STRUCTURE],
  ["payload-only bundles and downgrades", PAYLOAD_ONLY],
];

function run(row: Row): { outcome: Outcome; verified?: VerifiedBundle } {
  const publishers = row.root ?? ROOTS.dev;
  const policy = PolicySchema.parse({
    version: 1,
    mode: row.mode ?? "strict",
    allow_payload_only_signatures: row.payloadOnly ?? false,
  });
  const facts: BundleFacts = row.rootType
    ? { rootType: row.rootType, entries: [], walkLimitHit: false, files: {} }
    : factsOf(row.bundle(), publishers);
  try {
    const verified = verifyBundle(facts, { policy, publishers, now: new Date(0) }, "notes.nxb");
    return { outcome: { warns: verified.warnings.map((w) => w.code) }, verified };
  } catch (e) {
    if (e instanceof NxError) return { outcome: { fails: e.code } };
    throw e;
  }
}

for (const [group, rows] of TABLE) {
  Deno.test(`verifyBundle() on attacked bundles: ${group}`, async (t) => {
    for (const row of rows) {
      await t.step(row.name, () => {
        const want: Outcome = typeof row.expect === "string" ? { fails: row.expect } : row.expect;
        const { outcome, verified } = run(row);
        assert.deepEqual(outcome, want);
        if (verified) {
          // The install gate: trusted exactly when no finding was downgraded to a warning.
          assert.equal(verified.signer.trusted, verified.warnings.length === 0);
          row.check?.(verified);
        }
      });
    }
  });
}

Deno.test("the attack table is sound: unique names, all four code families", () => {
  const rows = TABLE.flatMap(([, r]) => r);
  assert.equal(new Set(rows.map((r) => r.name)).size, rows.length, "duplicate attack names");
  // The code families the CLI smoke set keeps one representative of (tests/verify_attacks_test.ts).
  const families = new Set(
    rows.flatMap((r) => typeof r.expect === "string" ? [r.expect.split(".")[0]] : []),
  );
  assert.deepEqual([...families].sort(), ["bundle", "integrity", "manifest", "policy"]);
});

Deno.test("factsOf() builds what readBundle() would: the controls hold", () => {
  // A check of the in-memory reader model: a flipped payload is caught by the streamed digest,
  // not by a missing challenge, and an untouched fixture streams the challenge it needs.
  const facts = factsOf(fixture("notes-1.0.0"), ROOTS.dev);
  assert.equal(facts.challenge?.path, "payload.elf");
  assert.equal(facts.files["payload.elf"].bytes, undefined, "the payload is streamed, not kept");
  assert.ok(facts.files[MANIFEST_FILE].bytes, "the manifest is kept in memory");
  const over = fixture("notes-1.0.0");
  sparse(over, "assets/big.bin", CAPS.total);
  assert.deepEqual(factsOf(over, ROOTS.dev).files, {}, "nothing is read past the total cap");
});
