import assert from "node:assert/strict";
import { join } from "node:path";
import { generatedFiles } from "../docs/generate.ts";
import { REPO } from "./helpers.ts";

Deno.test("generated docs (errors.md, JSON Schemas) match the code", async (t) => {
  for (const [path, text] of generatedFiles()) {
    await t.step(path, async () => {
      const committed = await Deno.readTextFile(join(REPO, "docs", path)).catch(() => "(missing)");
      assert.ok(committed === text, `docs/${path} is stale: run deno task docs`);
    });
  }
});
