import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { lazyRequire, startupNodeImports } from "./mod.ts";

const EAGER = `var __hasOwnProp = Object.prototype.hasOwnProperty;
import { createRequire as __deno_internal_createRequire } from "node:module";
var __require = __deno_internal_createRequire(import.meta.url);
export { __require };
`;

Deno.test("lazyRequire() moves node:module from the runtime chunk to the chunks that require()", async () => {
  const user =
    `import {\n  __require\n} from "./chunk-A.js";\nexport const sep = __require("node:path").sep;\n`;
  const main = `import "./chunk-A.js";\nexport const later = () => import("./user.js");\n`;
  const out = lazyRequire(new Map([["chunk-A.js", EAGER], ["user.js", user], ["main.js", main]]));
  assert.ok(!out.get("chunk-A.js")!.includes(`"node:module"`));
  assert.ok(
    out.get("user.js")!.startsWith(
      `import { createRequire as __nx_createRequire } from "node:module";`,
    ),
  );
  assert.equal(out.get("main.js"), main);
  // the lazy __require requires as deno bundle's does, from the runtime chunk's URL
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of out) await Deno.writeTextFile(join(dir, name), text);
    const { later } = await import(pathToFileURL(join(dir, "main.js")).href);
    assert.equal((await later()).sep, "/");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lazyRequire() leaves the chunks alone when __require is used other than called", () => {
  const resolves = new Map([["chunk-A.js", EAGER], ["b.js", `__require.resolve("x");\n`]]);
  assert.deepEqual(lazyRequire(resolves), resolves);
  const ownUse = new Map([["chunk-A.js", `${EAGER}var fs = __require("node:fs");\n`]]);
  assert.deepEqual(lazyRequire(ownUse), ownUse);
});

Deno.test("startupNodeImports() lists the node: imports of main.js and the chunks it loads", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const write = (name: string, text: string) => Deno.writeTextFile(join(dir, name), text);
    await write(
      "main.js",
      `import {\n  a\n} from "./chunk-A.js";\nimport "./chunk-B.js";\nimport { sep } from "node:path";\nconst later = () => import("./lazy.js");\n`,
    );
    await write(
      "chunk-A.js",
      `import { EventEmitter } from "node:events";\nexport { x } from "./chunk-B.js";\n`,
    );
    await write("chunk-B.js", `var b = 1;\n`);
    await write("lazy.js", `import fs from "node:fs";\n`);
    assert.deepEqual(await startupNodeImports(dir), {
      "main.js": ["node:path"],
      "chunk-A.js": ["node:events"],
    });
    await write("main.js", `import "./chunk-B.js";\n`);
    assert.deepEqual(await startupNodeImports(dir), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
