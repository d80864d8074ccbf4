import assert from "node:assert/strict";
import { deferDynamicImports } from "./defer_imports.ts";

Deno.test("deferDynamicImports() computes the chunks' import() specifiers, nothing else", () => {
  const main = [
    'import { a } from "./chunk-A.js";',
    'const verb = await import("./verify-X1.js");',
    'const { m } = await import("./mod-Y_2.js"), n = import("node:fs");',
    'const lib = import("npm:thing"); const s = "import(\\"./not-a-call\\")";',
  ].join("\n");
  const out = deferDynamicImports(
    new Map([["main.js", main], ["chunk-A.js", "export const a = 1;"]]),
  );
  assert.equal(
    out.get("main.js"),
    [
      'import { a } from "./chunk-A.js";',
      'const verb = await import(new URL("./verify-X1.js", import.meta.url).href);',
      'const { m } = await import(new URL("./mod-Y_2.js", import.meta.url).href), n = import("node:fs");',
      'const lib = import("npm:thing"); const s = "import(\\"./not-a-call\\")";',
    ].join("\n"),
  );
  assert.equal(out.get("chunk-A.js"), "export const a = 1;");
});

Deno.test("a deferred import() loads the same module, once, only when it runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/verb.js`,
      "globalThis.loads = (globalThis.loads ?? 0) + 1; export const v = 7;",
    );
    const main = deferDynamicImports(
      new Map([[
        "main.js",
        [
          'if (globalThis.loads !== undefined) throw new Error("loaded early");',
          'const a = await import("./verb.js"); const b = await import("./verb.js");',
          "console.log(a.v, a === b, globalThis.loads);",
        ].join("\n"),
      ]]),
    ).get("main.js")!;
    await Deno.writeTextFile(`${dir}/main.js`, main);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", `--allow-read=${dir}`, `${dir}/main.js`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "");
    assert.equal(new TextDecoder().decode(out.stdout), "7 true 1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
