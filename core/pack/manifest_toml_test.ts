import assert from "node:assert/strict";
import { type ErrorCode, NxError } from "../errors.ts";
import { MANIFEST_TOML_MAX_BYTES, parseManifestToml } from "./manifest_toml.ts";

const MINIMAL =
  'name = "notes"\nversion = "1.0.0"\nmin_sdk = "1.0.0"\nabilities = ["notes.open"]\n';

function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
  return undefined;
}

/** MINIMAL padded with a comment to exactly `size` bytes. */
function padded(size: number): string {
  const comment = "# " + "x".repeat(size - MINIMAL.length - 3) + "\n";
  const text = MINIMAL + comment;
  assert.equal(new TextEncoder().encode(text).length, size);
  return text;
}

Deno.test("parseManifestToml() reads a manifest of exactly the cap, as text or bytes", () => {
  const text = padded(MANIFEST_TOML_MAX_BYTES);
  assert.equal(parseManifestToml(text).name, "notes");
  assert.equal(parseManifestToml(new TextEncoder().encode(text)).version, "1.0.0");
});

Deno.test("parseManifestToml() refuses a manifest over the cap with pack.input_too_large", async (t) => {
  const over = padded(MANIFEST_TOML_MAX_BYTES + 1);
  await t.step("one byte over, bytes", () => {
    assert.equal(
      codeOf(() => parseManifestToml(new TextEncoder().encode(over))),
      "pack.input_too_large",
    );
  });
  await t.step("one byte over, text", () => {
    assert.equal(codeOf(() => parseManifestToml(over)), "pack.input_too_large");
  });
  await t.step("multi-byte characters count as their UTF-8 bytes", () => {
    // 30,000 × "é" is 60,000 bytes; 3,000 more "€" (3 bytes each) push it past 64 KiB while the
    // text is far shorter than 64 Ki UTF-16 units.
    const text = `${MINIMAL}# ${"é".repeat(30_000)}${"€".repeat(3_000)}\n`;
    assert.ok(text.length < MANIFEST_TOML_MAX_BYTES);
    assert.equal(codeOf(() => parseManifestToml(text)), "pack.input_too_large");
  });
  await t.step("a 64 MiB file is refused before it is decoded or parsed", () => {
    // Not TOML and not UTF-8: only the size check can reject it first.
    const huge = new Uint8Array(64 * 1024 * 1024).fill(0xff);
    assert.equal(codeOf(() => parseManifestToml(huge)), "pack.input_too_large");
  });
});

Deno.test("parseManifestToml() refuses bytes that are not UTF-8 with pack.invalid_field", () => {
  const bytes = new Uint8Array([...new TextEncoder().encode(MINIMAL), 0x23, 0xc3, 0x28, 0x0a]);
  assert.equal(codeOf(() => parseManifestToml(bytes)), "pack.invalid_field");
});
