import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import type { Manifest } from "./manifest_types.ts";
import { MANIFEST_NAME_MAX, NAME_AFFIX_MAX, NAME_MAX, validateManifest } from "./validate.ts";

const BASE: Manifest = {
  schemaVersion: 2,
  name: "notes",
  semver: "1.0.0",
  abilities: ["notes.open"],
  capabilities: [],
  minSdk: "1.0.0",
  publisher: new Uint8Array(16),
  signature: new Uint8Array(64),
  payloadDigest: new Uint8Array(),
  payloadSize: 10n,
  sbomDigest: new Uint8Array(),
  reproDigest: new Uint8Array(),
  bundleType: "app",
  dependencies: [],
  providedServices: [],
  resources: [],
  payloadKind: "elf",
  exports: [],
};

/** A strict SemVer prerelease version of exactly `length` characters. */
const versionOf = (length: number) => `1.0.0-${"a".repeat(length - 6)}`;

function codeOf(m: Manifest): string {
  try {
    validateManifest(m);
    return "ok";
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
}

Deno.test("NAME_AFFIX_MAX is the longest temp-sibling affix, MANIFEST_NAME_MAX what it leaves", () => {
  assert.equal(MANIFEST_NAME_MAX, NAME_MAX - NAME_AFFIX_MAX);
  // The longest temp sibling nx makes of a name: `.<name>.<pid>.<n>.tmp`.
  const affix = `.${""}.${4194304}.${Number.MAX_SAFE_INTEGER}.tmp`;
  assert.equal(affix.length, NAME_AFFIX_MAX);
});

Deno.test("validateManifest() refuses a version that would not fit a directory name", async (t) => {
  const cases: [string, string, string][] = [
    ["the longest accepted", versionOf(MANIFEST_NAME_MAX), "ok"],
    ["one byte more", versionOf(MANIFEST_NAME_MAX + 1), "preflight.name_too_long"],
    ["256 characters (a file name holds 255 bytes)", versionOf(256), "preflight.name_too_long"],
    ["beyond the SemVer grammar's 256", versionOf(257), "manifest.invalid_field"],
    ["a path, by grammar", "../../x", "manifest.invalid_field"],
    ["a slash, by grammar", "1.0.0-a/b", "manifest.invalid_field"],
    ["NUL, by grammar", "1.0.0-a\0b", "manifest.invalid_field"],
  ];
  for (const [name, semver, code] of cases) {
    await t.step(name, () => assert.equal(codeOf({ ...BASE, semver }), code));
  }
});

Deno.test("validateManifest() refuses app ids that are not one portable name", async (t) => {
  for (const name of [".", "..", "a/b", "a\0b", "-a", "a".repeat(65)]) {
    await t.step(JSON.stringify(name), () => {
      assert.equal(codeOf({ ...BASE, name }), "manifest.invalid_field");
    });
  }
  await t.step("64 bytes", () => assert.equal(codeOf({ ...BASE, name: "a".repeat(64) }), "ok"));
});

Deno.test("validateManifest() refuses an icon whose cache name icon<ext> would not fit", async (t) => {
  // The cache keeps pkg/cache/icons/<id>/icon<ext>; `icon` + `.` + ext ≤ MANIFEST_NAME_MAX.
  const icon = (ext: number) => [{ path: `assets/i.${"p".repeat(ext)}`, kind: "icon" as const }];
  const fits = MANIFEST_NAME_MAX - "icon.".length;
  await t.step("fits", () => assert.equal(codeOf({ ...BASE, resources: icon(fits) }), "ok"));
  await t.step("too long", () => {
    assert.equal(codeOf({ ...BASE, resources: icon(fits + 1) }), "preflight.name_too_long");
  });
  await t.step("not an icon: only the path rule", () => {
    const resources = [{ path: `assets/i.${"p".repeat(fits + 1)}`, kind: "data" as const }];
    assert.equal(codeOf({ ...BASE, resources }), "ok");
  });
});
