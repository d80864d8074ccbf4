/**
 * Hostile migrations through the real upgrade path: each is refused with its code and the
 * installed version, its data and the registry stay exactly as they were.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { notesWithMigration, nx } from "./helpers.ts";
import { cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";

const CASES: [string, string, string][] = [
  ["exits non-zero", "Deno.exit(4);\n", "migration.failed"],
  ["runs past its time limit", "while (true) {}\n", "migration.timeout"],
  [
    "writes outside its data dir",
    `await Deno.writeTextFile("/tmp/nx-escape-${Date.now()}", "x");\n`,
    "migration.failed",
  ],
  [
    "forks a process",
    `await new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output();\n`,
    "migration.failed",
  ],
  ["reads the environment", `console.log(Deno.env.get("HOME"));\n`, "migration.failed"],
  [
    "imports a file outside the bundle",
    `import x from "/etc/hostname" with { type: "text" };\nconsole.log(x);\n`,
    "migration.escape",
  ],
];

Deno.test("a hostile migration aborts the upgrade and leaves the old version active", async (t) => {
  const base = await preparedRoot([["install", "notes-1.0.0"]]);
  assert.equal(
    (await nx(["pkg", "policy", "set", "migration-step-timeout-ms", "1500"], { root: base })).code,
    0,
  );
  const old = await observe(await cloneRoot(base));
  for (const [name, body, code] of CASES) {
    await t.step(name, async () => {
      const root = await cloneRoot(base);
      const r = await nx(["pkg", "upgrade", await notesWithMigration(body), "--json"], { root });
      assert.equal(r.json?.code, code, r.stdout);
      assert.equal(await observe(root), old);
      await doctorClean(root);
    });
  }
});

Deno.test("a symlink in the app's data leading out of it stops the migration before it runs", async () => {
  const root = await preparedRoot([["install", "notes-1.0.0"]]);
  await Deno.symlink("/etc", join(root, "apps/notes/data/1.0.0/escape"));
  const old = await observe(await cloneRoot(root));
  const r = await nx([
    "pkg",
    "upgrade",
    await notesWithMigration("await Deno.writeTextFile(`${Deno.args[0]}/escape/x`, '');\n"),
    "--json",
  ], { root });
  assert.equal(r.json?.code, "migration.escape", r.stdout);
  assert.equal(await observe(root), old);
});
