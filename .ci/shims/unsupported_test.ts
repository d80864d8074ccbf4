import assert from "node:assert/strict";
import fs from "./fs.ts";
import childProcess from "./child_process.ts";

Deno.test("fs and child_process shims fail with an internal error if commander ever calls them", () => {
  assert.throws(() => fs.existsSync(), { code: "internal.unexpected" });
  assert.throws(() => fs.realpathSync(), { code: "internal.unexpected" });
  assert.throws(() => childProcess.spawn(), { code: "internal.unexpected" });
});
