import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import {
  CapnpError,
  ElementSize,
  farPointer,
  frameSegments,
  listPointer,
  MessageBuilder,
  structPointer,
  wordsToBytes,
} from "./capnp/mod.ts";
import { decodeManifest, encodeManifest, MANIFEST_MAX_BYTES } from "./manifest_codec.ts";
import type { Manifest } from "./manifest_types.ts";

const seq = (n: number, from: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);

const FULL: Manifest = {
  schemaVersion: 2,
  name: "notes",
  semver: "1.2.3-rc.1+build.7",
  abilities: ["notes.open", "notes.édit ✓"],
  capabilities: ["nexus.permission.FILES", "net.none", ""],
  minSdk: "0.9.0",
  publisher: seq(16, 1),
  signature: seq(64, 100),
  payloadDigest: seq(32, 200),
  payloadSize: 0xfedc_ba98_7654_3210n,
  sbomDigest: seq(32, 7),
  reproDigest: seq(32, 77),
  bundleType: "filemanager",
  dependencies: [
    { name: "libui", versionConstraint: "^1.2.0" },
    { name: "fonts", versionConstraint: "" },
    { name: "sync", versionConstraint: ">=0.3.0 <0.5.0" },
  ],
  providedServices: ["notes.sync", "notes.search"],
  resources: [
    { path: "icons/app.png", kind: "icon" },
    { path: "fonts/mono.ttf", kind: "font" },
    { path: "data/seed.db", kind: "data" },
  ],
  payloadKind: "uiProgram",
  exports: [
    { ability: "notes.open", permission: "app.notes.OPEN" },
    { ability: "notes.share", permission: "app.notes.SHARE" },
  ],
  sku: "notes-pro-2026",
};

const MINIMAL: Manifest = {
  schemaVersion: 1,
  abilities: [],
  capabilities: [],
  payloadDigest: new Uint8Array(0),
  payloadSize: 0n,
  sbomDigest: new Uint8Array(0),
  reproDigest: new Uint8Array(0),
  bundleType: "app",
  dependencies: [],
  providedServices: [],
  resources: [],
  payloadKind: "elf",
  exports: [],
};

function withoutSku(m: Manifest): Manifest {
  const copy = { ...m };
  delete copy.sku;
  return copy;
}

function isDecodeError(e: unknown): boolean {
  return e instanceof NxError && e.code === "manifest.decode_error";
}

/** Word `i` of segment 0 of a single-segment frame (header is 8 bytes). */
function rootWord(bytes: Uint8Array, i: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(8 + 8 * i, true);
}

Deno.test("encodeManifest() round-trips through decodeManifest()", async (t) => {
  const cases: [string, Manifest][] = [
    ["full with sku", FULL],
    ["full without sku", withoutSku(FULL)],
    ["minimal", MINIMAL],
    ["empty sku and empty texts", { ...MINIMAL, name: "", semver: "", sku: "" }],
    ["16-byte publisher only", { ...MINIMAL, publisher: seq(16, 0) }],
    ["BOM and NUL inside text", { ...MINIMAL, name: "\uFEFFa\u0000b", abilities: [""] }],
    ["largest enum values", {
      ...MINIMAL,
      bundleType: "ime",
      resources: [{ path: "", kind: "data" }],
    }],
    ["max payloadSize", { ...MINIMAL, payloadSize: (1n << 64n) - 1n }],
  ];
  for (const [name, m] of cases) {
    await t.step(name, () => {
      const bytes = encodeManifest(m);
      assert.deepEqual(decodeManifest(bytes), m);
      assert.deepEqual(encodeManifest(m), bytes, "deterministic");
      assert.deepEqual(encodeManifest(decodeManifest(bytes)), bytes, "re-encodes identically");
    });
  }
});

Deno.test("encodeManifest() lays out the root like upstream", async (t) => {
  await t.step("14 pointers without sku, 15 with", () => {
    assert.equal(rootWord(encodeManifest(MINIMAL), 0), structPointer(0, 2, 14));
    assert.equal(rootWord(encodeManifest({ ...MINIMAL, sku: "x" }), 0), structPointer(0, 2, 15));
    assert.equal(encodeManifest(MINIMAL).length, 8 + 8 * (1 + 2 + 14));
  });
  await t.step("schemaVersion is stored XOR 1, enums at bits 16 and 32", () => {
    assert.equal(rootWord(encodeManifest(MINIMAL), 1), 0n);
    const m = { ...MINIMAL, schemaVersion: 2, bundleType: "driver" as const };
    assert.equal(rootWord(encodeManifest({ ...m, payloadKind: "uiProgram" }), 1), 0x1_0003_0003n);
  });
  await t.step("payloadSize in data word 1", () => {
    assert.equal(rootWord(encodeManifest({ ...MINIMAL, payloadSize: 1234n }), 2), 1234n);
  });
  await t.step("empty lists and empty Data stay null pointers", () => {
    const bytes = encodeManifest({ ...MINIMAL, publisher: new Uint8Array(0) });
    for (let p = 0; p < 14; p++) assert.equal(rootWord(bytes, 3 + p), 0n, `pointer ${p}`);
    assert.deepEqual(decodeManifest(bytes).publisher, undefined);
  });
});

Deno.test("encodeManifest() refuses values the schema cannot hold", async (t) => {
  const cases: [string, Manifest, string][] = [
    ["schemaVersion 256", { ...MINIMAL, schemaVersion: 256 }, "manifest.invalid_field"],
    ["negative payloadSize", { ...MINIMAL, payloadSize: -1n }, "manifest.invalid_field"],
    ["payloadSize 2^64", { ...MINIMAL, payloadSize: 1n << 64n }, "manifest.invalid_field"],
    [
      "unknown bundleType",
      { ...MINIMAL, bundleType: "game" as Manifest["bundleType"] },
      "manifest.invalid_field",
    ],
    ["over 64 KiB", { ...MINIMAL, name: "x".repeat(MANIFEST_MAX_BYTES) }, "bundle.too_large"],
  ];
  for (const [name, m, code] of cases) {
    await t.step(name, () => {
      assert.throws(() => encodeManifest(m), (e) => e instanceof NxError && e.code === code);
    });
  }
});

Deno.test("decodeManifest() reads structs of older and newer writers", async (t) => {
  await t.step("older: 1 data word, 3 pointers", () => {
    const b = new MessageBuilder();
    const root = b.initRoot(1, 3);
    root.setU8(0, 2 ^ 1);
    root.setU16(2, 5);
    root.setText(0, "old");
    root.setTextList(2, ["a"]);
    const m = decodeManifest(b.toBytes());
    assert.deepEqual(m, {
      ...MINIMAL,
      schemaVersion: 2,
      bundleType: "shell",
      name: "old",
      abilities: ["a"],
    });
  });
  await t.step("empty root struct reads schemaVersion 1", () => {
    const b = new MessageBuilder();
    b.initRoot(0, 0);
    assert.deepEqual(decodeManifest(b.toBytes()), MINIMAL);
  });
  await t.step("newer: 3 data words, 20 pointers, bigger list elements", () => {
    const b = new MessageBuilder();
    const root = b.initRoot(3, 20);
    root.setU64(16, 99n);
    root.setText(0, "new");
    const [res] = root.initStructList(12, 1, 2, 3);
    res.setText(0, "r.png");
    res.setU16(0, 1);
    res.setText(2, "ignored");
    root.setText(14, "sku-1");
    root.setText(19, "from the future");
    const m = decodeManifest(b.toBytes());
    assert.deepEqual(m, {
      ...MINIMAL,
      name: "new",
      resources: [{ path: "r.png", kind: "cursor" }],
      sku: "sku-1",
    });
  });
});

// --- hostile input -----------------------------------------------------------------------

/** Root of 2 data words + 14 pointers with `ptrs` set; `extra` words follow at word 17. */
function root(
  data: [bigint, bigint],
  ptrs: Record<number, bigint>,
  extra: bigint[] = [],
): Uint8Array {
  const words = [structPointer(0, 2, 14), ...data, ...Array<bigint>(14).fill(0n), ...extra];
  for (const [p, w] of Object.entries(ptrs)) words[3 + Number(p)] = w;
  return frameSegments([wordsToBytes(words)]);
}

/** Offset from pointer slot `p` of {@link root} to extra word `k`. */
const toExtra = (p: number, k: number) => 17 + k - (3 + p) - 1;

function header(...u32: number[]): Uint8Array {
  const out = new Uint8Array(u32.length * 4);
  u32.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v, true));
  return out;
}

const VALID = encodeManifest(FULL);
const Z: [bigint, bigint] = [0n, 0n];

Deno.test("decodeManifest() rejects hostile input with manifest.decode_error", async (t) => {
  const text = (p: number, len: number) => listPointer(toExtra(p, 0), ElementSize.byte, len);
  const cases: [string, Uint8Array, string][] = [
    ["empty input", new Uint8Array(0), "truncated segment table"],
    ["truncated segment table", header(1, 1), "truncated segment table"],
    ["truncated segment", VALID.subarray(0, VALID.length - 8), "truncated segment"],
    [
      "trailing bytes",
      Uint8Array.from([...VALID, 0, 0, 0, 0, 0, 0, 0, 0]),
      "trailing bytes after the last segment",
    ],
    ["segment count 2^32-1", header(0xffff_fffe, 1, 0, 0), "too many segments"],
    ["segment count 2^32 (u32 wraps)", header(0xffff_ffff, 1), "too many segments"],
    ["65 segments", header(64, ...Array<number>(65).fill(0)), "too many segments"],
    ["empty segment 0", header(0, 0), "message has no root pointer"],
    ["input over 64 KiB", new Uint8Array(MANIFEST_MAX_BYTES + 8), "message too large"],
    [
      "far-pointer loop",
      frameSegments([
        wordsToBytes([farPointer(1, 0, false)]),
        wordsToBytes([farPointer(0, 0, false)]),
      ]),
      "far pointer landing pad is not a struct or list pointer",
    ],
    [
      "double-far whose pad is not a far pointer",
      frameSegments([
        wordsToBytes([farPointer(1, 0, true)]),
        wordsToBytes([structPointer(0, 2, 14), structPointer(0, 2, 14)]),
      ]),
      "double-far landing pad does not start with a single far pointer",
    ],
    [
      "double-far whose tag is a far pointer",
      frameSegments([
        wordsToBytes([farPointer(1, 0, true)]),
        wordsToBytes([farPointer(0, 0, false), farPointer(1, 0, true)]),
      ]),
      "double-far tag is not a struct or list pointer",
    ],
    [
      "root pointer out of bounds",
      frameSegments([wordsToBytes([structPointer(0, 2, 14), 0n])]),
      "pointer out of bounds",
    ],
    [
      "text pointer out of bounds",
      root(Z, { 0: listPointer(100, ElementSize.byte, 4) }),
      "pointer out of bounds",
    ],
    [
      "list of 2^29-1 8-byte elements in a tiny message",
      root(Z, { 2: listPointer(toExtra(2, 0), ElementSize.eightBytes, 2 ** 29 - 1) }, [0n]),
      "pointer out of bounds",
    ],
    [
      "List(Text) of 2^29-1 pointers in a tiny message",
      root(Z, { 3: listPointer(toExtra(3, 0), ElementSize.pointer, 2 ** 29 - 1) }, [0n]),
      "pointer out of bounds",
    ],
    [
      "composite tag claims more words than the list pointer",
      root(Z, { 10: listPointer(toExtra(10, 0), ElementSize.inlineComposite, 2) }, [
        structPointer(3, 0, 2),
        0n,
        0n,
        0n,
        0n,
        0n,
        0n,
      ]),
      "composite list elements overrun the list",
    ],
    [
      "composite tag that is not a struct tag",
      root(Z, { 13: listPointer(toExtra(13, 0), ElementSize.inlineComposite, 2) }, [
        listPointer(1, ElementSize.byte, 0),
        0n,
        0n,
      ]),
      "composite list tag is not a struct tag",
    ],
    ["text missing NUL", root(Z, { 0: text(0, 3) }, [0x636261n]), "text is not NUL-terminated"],
    ["zero-length text", root(Z, { 1: text(1, 0) }, [0n]), "text is not NUL-terminated"],
    ["invalid UTF-8", root(Z, { 4: text(4, 3) }, [0x00ff61n]), "text is not valid UTF-8"],
    ["UTF-8 surrogate", root(Z, { 0: text(0, 4) }, [0x0080a0edn]), "text is not valid UTF-8"],
    [
      "capability pointer in a Text slot",
      root(Z, { 0: 3n }),
      "capability or unknown pointer where data was expected",
    ],
    [
      "struct pointer where a list is expected",
      root(Z, { 2: structPointer(toExtra(2, 0), 1, 0) }, [0n]),
      "struct pointer where a list was expected",
    ],
    [
      "Data stored as a List(UInt16)",
      root(Z, { 5: listPointer(toExtra(5, 0), ElementSize.twoBytes, 2) }, [0n]),
      "list of bytes expected",
    ],
    [
      "List(Text) stored as a byte list",
      root(Z, { 11: text(11, 2) }, [0x61n]),
      "list of pointers expected",
    ],
    ["bundleType ordinal 99", root([99n << 16n, 0n], {}), "enum ordinal out of range"],
    ["payloadKind ordinal 2", root([2n << 32n, 0n], {}), "enum ordinal out of range"],
    [
      "resource kind ordinal 6",
      root(Z, { 12: listPointer(toExtra(12, 0), ElementSize.inlineComposite, 2) }, [
        structPointer(1, 1, 1),
        6n,
        0n,
      ]),
      "enum ordinal out of range",
    ],
  ];
  // Depth beyond 64 cannot be reached through BundleManifest (its deepest object is at depth 3);
  // the nesting limit is tested on the generic reader in capnp/reader_test.ts.
  for (const [name, bytes, reason] of cases) {
    await t.step(name, () => {
      assert.throws(() => decodeManifest(bytes), (e) => {
        assert.ok(isDecodeError(e), `expected manifest.decode_error, got ${e}`);
        assert.equal(((e as NxError).cause as CapnpError).reason, reason);
        assert.match((e as NxError).message, /^cannot decode manifest: /);
        return true;
      });
    });
  }
  await t.step("enum errors name the field", () => {
    assert.throws(() => decodeManifest(root([99n << 16n, 0n], {})), (e) => {
      return isDecodeError(e) && (e as NxError).details?.field === "bundleType";
    });
  });
});

/**
 * nx's single segment re-framed as three segments: segment 0 holds a double-far root pointer,
 * segment 1 the pad (far → segment 2, word 1) and the tag, segment 2 is nx's own segment,
 * whose pointers are all relative to itself.
 */
const DOUBLE_FAR = frameSegments([
  wordsToBytes([farPointer(1, 0, true)]),
  wordsToBytes([farPointer(2, 1, false), structPointer(0, 2, 15)]),
  VALID.subarray(8),
]);

Deno.test("decodeManifest() follows far and double-far pointers to the root", () => {
  assert.deepEqual(decodeManifest(DOUBLE_FAR), FULL);
});

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

Deno.test("decodeManifest() never throws anything but decode_error on mutated input", async (t) => {
  const rand = prng(0x5eed);
  const pick = (n: number) => Math.floor(rand() * n);
  const cases: [string, Uint8Array, number][] = [
    ["single segment", VALID, 2000],
    ["double-far, three segments", DOUBLE_FAR, 1000],
  ];
  for (const [name, valid, rounds] of cases) {
    await t.step(name, () => {
      let decoded = 0;
      let rejected = 0;
      for (let i = 0; i < rounds; i++) {
        let bytes = valid.slice();
        const flips = 1 + pick(4);
        for (let f = 0; f < flips; f++) {
          const at = pick(bytes.length);
          bytes[at] = rand() < 0.5 ? bytes[at] ^ (1 << pick(8)) : pick(256);
        }
        if (rand() < 0.1) bytes = bytes.subarray(0, pick(bytes.length));
        try {
          decodeManifest(bytes);
          decoded++;
        } catch (e) {
          if (!isDecodeError(e)) throw new Error(`mutation ${i} threw ${e}`, { cause: e });
          rejected++;
        }
      }
      assert.equal(decoded + rejected, rounds);
      // Both outcomes must be common, or the mutations are not exercising the decoder.
      assert.ok(
        decoded > rounds / 20 && rejected > rounds / 20,
        `ok ${decoded}, rejected ${rejected}`,
      );
    });
  }
});
