import assert from "node:assert/strict";
import { closest, editDistance, notInstalled } from "./closest.ts";

Deno.test("editDistance() counts single-character edits", async (t) => {
  for (
    const [a, b, d] of [["", "", 0], ["notes", "notes", 0], ["note", "notes", 1], [
      "ntoes",
      "notes",
      2,
    ], ["abc", "", 3]] as const
  ) {
    await t.step(`${a} → ${b}`, () => assert.equal(editDistance(a, b), d));
  }
});

Deno.test("closest() suggests a near name only", () => {
  assert.equal(closest("note", ["reader", "notes"]), "notes");
  assert.equal(closest("ntoes", ["notes"]), "notes");
  assert.equal(closest("zzzzz", ["notes"]), undefined);
  assert.equal(closest("notes", ["notes"]), undefined);
  assert.equal(closest("abcdef", ["abcdxx", "abcdex"]), "abcdex");
});

Deno.test("notInstalled() carries the suggestion, else the fallback hint", () => {
  const near = notInstalled("note", "show", ["notes"]);
  assert.equal(near.code, "app.not_installed");
  assert.equal(near.details?.suggestion, "notes");
  const far = notInstalled("zzz", "show", ["notes"], "fallback");
  assert.equal(far.hint, "fallback");
  assert.equal(far.details, undefined);
});
