import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO } from "./helpers.ts";

Deno.test("committed fixtures match `deno task fixtures` output", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "fixtures", "generate.ts"), "--check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
});
