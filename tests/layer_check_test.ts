import assert from "node:assert/strict";
import { checkLayers, type Edge, problemsOf } from "./layer_check.ts";

Deno.test("checkLayers() finds no problem in the tree (deno info's module graph)", async () => {
  assert.deepEqual(await checkLayers(), []);
});

const code = (from: string, to: string, dynamic = false): Edge => ({
  from,
  to,
  code: true,
  dynamic,
});
const type = (from: string, to: string): Edge => ({ from, to, code: false, dynamic: false });
/** A small clean tree every case adds one edge to. */
const BASE: Edge[] = [
  code("cli/main.ts", "cli/program.ts"),
  code("cli/program.ts", "core/errors.ts"),
  code("cli/service.ts", "core/pkgr/pkgr.ts", true),
  code("core/pkgr/pkgr.ts", "core/api/mod.ts"),
  code("core/plan/mod.ts", "core/api/mod.ts"),
  type("core/registry/types.ts", "core/api/mod.ts"),
];

Deno.test("problemsOf() reports each kind of layer problem", async (t) => {
  const cases: [string, Edge[], Map<string, string>, RegExp][] = [
    [
      "a pure folder importing an effect folder by type only",
      [type("core/plan/types.ts", "core/registry/mod.ts")],
      new Map(),
      /core\/plan\/types\.ts: pure module imports \(type only\) core\/registry\/mod\.ts/,
    ],
    [
      "a pure folder importing node:fs",
      [code("core/trust/keys.ts", "node:fs")],
      new Map(),
      /pure module imports node:fs/,
    ],
    [
      "a pure folder importing libSQL",
      [code("core/api/x.ts", "node_modules/@libsql/client/lib-esm/node.js")],
      new Map(),
      /pure module imports node_modules\/@libsql/,
    ],
    [
      "core importing cli",
      [type("core/pkgr/x.ts", "cli/output.ts")],
      new Map(),
      /core\/pkgr\/x\.ts: core imports \(type only\) cli\/output\.ts/,
    ],
    [
      "another folder entered beside its mod.ts",
      [code("core/pkgr/x.ts", "core/plan/install.ts")],
      new Map(),
      /imports core\/plan\/install\.ts instead of its folder's mod\.ts/,
    ],
    [
      "a transaction loading the contract's schemas",
      [code("core/pkgr/service.ts", "core/plan/mod.ts")],
      new Map(),
      /core\/pkgr\/service\.ts loads core\/api\/mod\.ts/,
    ],
    [
      "a transaction loading classic zod",
      [
        code("core/pkgr/service.ts", "core/trust/mod.ts"),
        code("core/trust/mod.ts", "node_modules/zod/mini/index.js"),
        code("core/trust/policy.ts", "node_modules/zod/v4/locales/en.js"),
        code("core/trust/mod.ts", "core/trust/policy.ts"),
        code("core/trust/policy.ts", "node_modules/zod/index.js"),
      ],
      new Map(),
      /^core\/pkgr\/service\.ts loads classic zod \(node_modules\/zod\/index\.js\)/,
    ],
    [
      "a folder cycle made of a type edge",
      [type("core/api/records.ts", "core/plan/mod.ts")],
      new Map(),
      /folder cycle: core\/api → core\/plan → core\/api/,
    ],
    [
      "a module cycle at run time",
      [code("core/api/mod.ts", "core/api/b.ts"), code("core/api/b.ts", "core/api/mod.ts")],
      new Map(),
      /import cycle: core\/api\/b\.ts → core\/api\/mod\.ts → core\/api\/b\.ts|import cycle: core\/api\/mod\.ts → core\/api\/b\.ts → core\/api\/mod\.ts/,
    ],
    [
      "a root command calling core/pkgr directly",
      [code("cli/pkg_verify.ts", "core/pkgr/verify.ts", true)],
      new Map(),
      /cli\/pkg_verify\.ts: imports core\/pkgr\/verify\.ts: the CLI calls the service only through the contract/,
    ],
    [
      "start-up loading zod",
      [
        code("cli/program.ts", "core/api/failure.ts"),
        code("cli/main.ts", "node_modules/zod/index.js"),
      ],
      new Map(),
      /start-up loads zod/,
    ],
    [
      "start-up loading a core module beyond the light ones",
      [code("cli/program.ts", "core/api/mod.ts")],
      new Map(),
      /start-up loads core\/api\/mod\.ts/,
    ],
    [
      "a light module loading zod",
      [
        code("core/api/failure.ts", "core/api/x.ts"),
        code("core/api/x.ts", "node_modules/zod/index.js"),
      ],
      new Map(),
      /light module core\/api\/failure\.ts loads zod/,
    ],
    [
      "Deno.* in a pure module",
      [],
      new Map([["core/plan/x.ts", "export const x = Deno.env.get('X'); // Deno.test is fine"]]),
      /core\/plan\/x\.ts: pure module uses Deno\.\*/,
    ],
  ];
  for (const [name, extra, texts, expected] of cases) {
    await t.step(name, () => {
      const problems = problemsOf([...BASE, ...extra], texts);
      assert.ok(problems.some((p) => expected.test(p)), `${name}: ${JSON.stringify(problems)}`);
    });
  }
  await t.step("the clean tree, a dynamic import and a comment about Deno.* are fine", () => {
    const extra = [code("cli/demo.ts", "core/pkgr/pack.ts", true)];
    const texts = new Map([["core/plan/x.ts", "// reads Deno.env\nexport const x = 1;"]]);
    assert.deepEqual(problemsOf([...BASE, ...extra], texts), []);
  });
});
