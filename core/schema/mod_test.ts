import assert from "node:assert/strict";
import * as classic from "zod";
import * as z from "zod/mini";
import { firstIssue, topIssue } from "./mod.ts";

const REPO = new URL("../..", import.meta.url).pathname;

/** Runs `code` (a module) in a fresh Deno, where nothing but what it imports has been loaded. */
async function fresh(code: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", "--ext=ts", "--config", `${REPO}deno.json`, code],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test("a zod/mini parse reads in English in a process that built no classic schema", async () => {
  // verify's own path: parseJson of a malformed meta/index.json, no classic zod loaded at all
  const message = await fresh(`
    import { parseJson } from "./core/trust/_verify_checks.ts";
    import { FileIndexSchema } from "./core/bundle/index_format.ts";
    const bytes = new TextEncoder().encode(JSON.stringify({ format: "nx-file-index", version: 1.5, files: [] }));
    try { parseJson(bytes, FileIndexSchema, "integrity.index_invalid", "meta/index.json"); }
    catch (e) { console.log((e as Error).message); }
  `);
  assert.equal(
    message,
    "cannot parse meta/index.json: ✖ Invalid input: expected int, received number",
  );
});

Deno.test("firstIssue() and topIssue() give the same words for a mini and a classic schema", () => {
  const value = { id: "x", days: 0, extra: true };
  const mini = z.strictObject({
    id: z.string().check(z.minLength(2)),
    days: z.int().check(z.gte(1)),
  })
    .safeParse(value);
  const full = classic.strictObject({ id: classic.string().min(2), days: classic.int().min(1) })
    .safeParse(value);
  assert.ok(!mini.success && !full.success);
  assert.equal(firstIssue(mini.error), firstIssue(full.error));
  assert.deepEqual(topIssue(mini.error), topIssue(full.error));
  assert.equal(firstIssue(mini.error), '✖ Unrecognized key: "extra"');
});
