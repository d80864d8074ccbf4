import assert from "node:assert/strict";
import * as node from "node:path";
import * as shim from "./path.ts";

/** Path pieces with every case the algorithms branch on: dots, slashes, leading dots, suffixes. */
const PIECES = [
  "",
  ".",
  "..",
  "...",
  "a",
  "b.c",
  ".d",
  "e.",
  "/",
  "//",
  "a/",
  "/a",
  "../a",
  "a//b",
  ".a.b",
];

/** Every concatenation of one to three pieces. */
const PATHS = [
  ...new Set(PIECES.flatMap((a) => PIECES.flatMap((b) => PIECES.map((c) => a + b + c)))),
];
const FEW = [...new Set(PIECES.flatMap((a) => PIECES.map((b) => a + b)))];

function same<A extends unknown[]>(
  name: string,
  f: (...a: A) => unknown,
  g: (...a: A) => unknown,
  args: A,
) {
  assert.deepEqual(
    f(...args),
    g(...args),
    `${name}(${args.map((a) => JSON.stringify(a)).join(", ")})`,
  );
}

Deno.test("path shim: each function returns what node:path returns", async (t) => {
  for (const name of ["normalize", "dirname", "basename", "extname", "isAbsolute"] as const) {
    await t.step(`${name}() of ${PATHS.length} paths`, () => {
      for (const p of PATHS) same(name, node[name] as (p: string) => unknown, shim[name], [p]);
    });
  }
  await t.step("basename() with a suffix", () => {
    for (const p of PATHS) {
      for (const suffix of ["c", ".c", "b.c", "a", "/", "..", "d"]) {
        same("basename", node.basename, shim.basename, [p, suffix]);
      }
    }
  });
  await t.step("join() of zero to three paths", () => {
    same("join", node.join, shim.join, []);
    for (const a of FEW) {
      same("join", node.join, shim.join, [a]);
      for (const b of PIECES) {
        same("join", node.join, shim.join, [a, b]);
        same("join", node.join, shim.join, [b, a, b]);
      }
    }
  });
  await t.step("resolve() of zero to three paths, relative ones from the cwd", () => {
    same("resolve", node.resolve, shim.resolve, []);
    for (const a of FEW) {
      same("resolve", node.resolve, shim.resolve, [a]);
      for (const b of PIECES) {
        same("resolve", node.resolve, shim.resolve, [a, b]);
        same("resolve", node.resolve, shim.resolve, [b, a, b]);
      }
    }
  });
  await t.step("relative() between any two paths", () => {
    for (const a of FEW) {
      for (const b of FEW) same("relative", node.relative, shim.relative, [a, b]);
    }
  });
  await t.step("sep, delimiter and the default export", () => {
    assert.equal(shim.sep, node.sep);
    assert.equal(shim.delimiter, node.delimiter);
    for (const [name, value] of Object.entries(shim.default)) {
      assert.equal(value, shim[name as keyof typeof shim.default], name);
    }
  });
});

Deno.test("path shim: a path that is not a string is refused as node:path refuses it", () => {
  for (const f of [shim.join, shim.resolve, shim.normalize, shim.dirname, shim.basename]) {
    assert.throws(() => (f as (p: unknown) => unknown)(1), { code: "ERR_INVALID_ARG_TYPE" });
  }
});
