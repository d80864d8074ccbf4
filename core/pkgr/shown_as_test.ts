import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { shownAs } from "./shown_as.ts";

const ref = { kind: "path" as const, path: "/r/pkg/uploads/u1", name: "notes.nxb" };

Deno.test("shownAs() names the bundle as the caller did in a result", async () => {
  const result = await shownAs(
    ref,
    () => Promise.resolve({ path: "/r/pkg/uploads/u1", list: ["x /r/pkg/uploads/u1/meta"], n: 1 }),
  );
  assert.deepEqual(result, { path: "notes.nxb", list: ["x notes.nxb/meta"], n: 1 });
});

Deno.test("shownAs() names it in an error's message, hint and details, keeping the code", async () => {
  const e = await shownAs(ref, () => {
    throw new NxError("bundle.missing_file", "cannot verify /r/pkg/uploads/u1: no manifest", {
      hint: "inspect /r/pkg/uploads/u1",
      details: { path: "/r/pkg/uploads/u1/manifest.nxb" },
    });
  }).catch((e) => e);
  assert.ok(e instanceof NxError);
  assert.deepEqual([e.code, e.message, e.hint, e.details], [
    "bundle.missing_file",
    "cannot verify notes.nxb: no manifest",
    "inspect notes.nxb",
    { path: "notes.nxb/manifest.nxb" },
  ]);
});

Deno.test("shownAs() leaves a bundle without a name as it is", async () => {
  const plain = { kind: "path" as const, path: "/a" };
  assert.deepEqual(await shownAs(plain, () => Promise.resolve("/a/b")), "/a/b");
});
