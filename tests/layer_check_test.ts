import assert from "node:assert/strict";
import { checkLayers } from "./layer_check.ts";

Deno.test("checkLayers() finds no pure-to-effect import, Deno use in pure code, or cycle", async () => {
  assert.deepEqual(await checkLayers(), []);
});
