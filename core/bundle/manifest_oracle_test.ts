/**
 * The reference `capnp` tool (Debian capnproto) as an independent oracle for the manifest
 * codec. The project setup installs it; when it is missing these tests fail, they never skip.
 */

import assert from "node:assert/strict";
import { farPointer, frameSegments, structPointer, wordsToBytes } from "./capnp/mod.ts";
import { decodeManifest, encodeManifest } from "./manifest_codec.ts";
import { BUNDLE_TYPES, type Manifest, RESOURCE_KINDS } from "./manifest_types.ts";

const SCHEMA = decodeURIComponent(
  new URL("../../fixtures/schema/manifest.capnp", import.meta.url).pathname,
);
const ROOT = "BundleManifest";

async function capnp(args: string[], input: Uint8Array): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("capnp", {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "capnp is not on PATH: install the Debian package capnproto (the project setup does); " +
          "the manifest oracle tests cannot run without it",
      );
    }
    throw e;
  }
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const out = await child.output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(`capnp ${args.join(" ")} failed: ${err}`);
  }
  return out.stdout;
}

const text = new TextEncoder();
const capnpEncode = (schema: string, literal: string, ...opts: string[]) =>
  capnp(["encode", ...opts, schema, ROOT], text.encode(literal));
const capnpDecode = async (bytes: Uint8Array) =>
  new TextDecoder().decode(await capnp(["decode", "--short", SCHEMA, ROOT], bytes));

/** The manifest as a capnp struct literal, fields in ordinal order; empty lists/Data left out. */
function toCapnpText(m: Manifest): string {
  const str = (s: string) => JSON.stringify(s);
  const hex = (b: Uint8Array) =>
    `0x"${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}"`;
  const f: string[] = [`schemaVersion = ${m.schemaVersion}`];
  const put = (name: string, value: string | undefined) => {
    if (value !== undefined) f.push(`${name} = ${value}`);
  };
  const list = <T>(xs: T[], g: (x: T) => string) =>
    xs.length ? `[${xs.map(g).join(", ")}]` : undefined;
  const data = (b: Uint8Array | undefined) => b?.length ? hex(b) : undefined;
  put("name", m.name === undefined ? undefined : str(m.name));
  put("semver", m.semver === undefined ? undefined : str(m.semver));
  put("abilities", list(m.abilities, str));
  put("capabilities", list(m.capabilities, str));
  put("minSdk", m.minSdk === undefined ? undefined : str(m.minSdk));
  put("publisher", data(m.publisher));
  put("signature", data(m.signature));
  put("payloadDigest", data(m.payloadDigest));
  put("payloadSize", String(m.payloadSize));
  put("sbomDigest", data(m.sbomDigest));
  put("reproDigest", data(m.reproDigest));
  put("bundleType", m.bundleType);
  put(
    "dependencies",
    list(
      m.dependencies,
      (d) => `(name = ${str(d.name)}, versionConstraint = ${str(d.versionConstraint)})`,
    ),
  );
  put("providedServices", list(m.providedServices, str));
  put("resources", list(m.resources, (r) => `(path = ${str(r.path)}, kind = ${r.kind})`));
  put("payloadKind", m.payloadKind);
  put(
    "exports",
    list(m.exports, (e) => `(ability = ${str(e.ability)}, permission = ${str(e.permission)})`),
  );
  put("sku", m.sku === undefined ? undefined : str(m.sku));
  return `(${f.join(", ")})`;
}

const seq = (n: number, from: number) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 255);

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
  ],
  providedServices: ["notes.sync", "notes.search"],
  resources: RESOURCE_KINDS.map((kind, i) => ({ path: `res/${i}.${kind}`, kind })),
  payloadKind: "uiProgram",
  exports: [
    { ability: "notes.open", permission: "app.notes.OPEN" },
    { ability: "notes.share", permission: "app.notes.SHARE" },
  ],
  sku: "notes-pro-2026",
};

function withoutSku(m: Manifest): Manifest {
  const copy = { ...m };
  delete copy.sku;
  return copy;
}

const CASES: [string, Manifest][] = [
  ["full with sku", FULL],
  ["full without sku", withoutSku(FULL)],
  ["minimal", MINIMAL],
  ["minimal with empty sku", { ...MINIMAL, sku: "" }],
  ["upstream-like v1", { ...withoutSku(FULL), schemaVersion: 1, payloadKind: "elf" }],
  ...BUNDLE_TYPES.map((bundleType): [string, Manifest] => [
    `bundleType ${bundleType}`,
    { ...MINIMAL, name: bundleType, bundleType },
  ]),
];

Deno.test("decodeManifest() reads what capnp encode wrote", async (t) => {
  for (const [name, m] of CASES) {
    await t.step(name, async () => {
      assert.deepEqual(decodeManifest(await capnpEncode(SCHEMA, toCapnpText(m))), m);
    });
  }
  await t.step("multi-segment message full of far pointers (--segment-size=3)", async () => {
    const bytes = await capnpEncode(SCHEMA, toCapnpText(FULL), "--segment-size=3");
    assert.ok(new DataView(bytes.buffer).getUint32(0, true) > 1, "capnp wrote several segments");
    assert.deepEqual(decodeManifest(bytes), FULL);
  });
  await t.step("non-null empty lists and Data", async () => {
    const bytes = await capnpEncode(SCHEMA, `(abilities = [], publisher = "", sbomDigest = "")`);
    assert.deepEqual(decodeManifest(bytes), { ...MINIMAL, publisher: new Uint8Array(0) });
  });
});

Deno.test("capnp decode reads nx bytes exactly as its own", async (t) => {
  for (const [name, m] of CASES) {
    await t.step(name, async () => {
      const ours = await capnpDecode(encodeManifest(m));
      const theirs = await capnpDecode(await capnpEncode(SCHEMA, toCapnpText(m)));
      assert.equal(ours, theirs);
      assert.match(ours, new RegExp(`bundleType = ${m.bundleType}\\b`));
    });
  }
  await t.step("double-far re-framing of nx's segment", async () => {
    const valid = encodeManifest(FULL);
    const reframed = frameSegments([
      wordsToBytes([farPointer(1, 0, true)]),
      wordsToBytes([farPointer(2, 1, false), structPointer(0, 2, 15)]),
      valid.subarray(8),
    ]);
    assert.equal(await capnpDecode(reframed), await capnpDecode(valid));
  });
});

Deno.test("encodeManifest() writes the same bytes as capnp encode", async (t) => {
  // Upstream's schema has no sku: without it capnp writes the 14-pointer root nx writes.
  const dir = await Deno.makeTempDir({ prefix: "nx-capnp-" });
  try {
    const schema = await Deno.readTextFile(SCHEMA);
    const upstream = schema.replace(/^\s*sku @18 :Text;.*$/m, "");
    assert.notEqual(upstream, schema, "the sku field was found and removed");
    const upstreamSchema = `${dir}/manifest_upstream.capnp`;
    await Deno.writeTextFile(upstreamSchema, upstream);
    for (const [name, m] of CASES) {
      await t.step(name, async () => {
        const schemaFile = m.sku === undefined ? upstreamSchema : SCHEMA;
        assert.deepEqual(encodeManifest(m), await capnpEncode(schemaFile, toCapnpText(m)));
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
