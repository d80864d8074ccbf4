import assert from "node:assert/strict";
import type { MigrationStep } from "../bundle/meta.ts";
import { NxError } from "../errors.ts";
import { migrationChain } from "./migration_chain.ts";

// The steps the notes fixtures carry (fixtures/catalog.ts).
const A: MigrationStep = { from: "1.0.0", to: "1.1.0", script: "migrations/1.0.0_to_1.1.0.ts" };
const B: MigrationStep = { from: "1.1.0", to: "1.2.0", script: "migrations/1.1.0_to_1.2.0.ts" };
const C: MigrationStep = { from: "1.2.0", to: "2.0.0", script: "migrations/1.2.0_to_2.0.0.ts" };

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
  return "no error";
};

Deno.test("migrationChain() picks the steps with installed < to ≤ target, ordered by to", async (t) => {
  const table: [string, MigrationStep[], string, string, MigrationStep[]][] = [
    ["1.0.0 → 1.2.0 runs both notes steps in order", [B, A], "1.0.0", "1.2.0", [A, B]],
    ["1.1.0 → 1.2.0 runs one step", [A, B], "1.1.0", "1.2.0", [B]],
    ["1.0.0 → 1.1.0 skips a step with to > target", [A, B], "1.0.0", "1.1.0", [A]],
    ["1.2.0 → 1.2.1 runs none", [A, B], "1.2.0", "1.2.1", []],
    ["no steps at all", [], "1.0.0", "2.0.0", []],
    ["1.0.5 → 1.1.0 still runs a step that starts below installed", [A], "1.0.5", "1.1.0", [A]],
    [
      "pre-releases order below their release",
      [
        { from: "1.0.0", to: "1.1.0", script: "migrations/b.ts" },
        { from: "1.0.0", to: "1.1.0-rc.1", script: "migrations/a.ts" },
      ],
      "1.0.0",
      "1.1.0",
      [
        { from: "1.0.0", to: "1.1.0-rc.1", script: "migrations/a.ts" },
        { from: "1.0.0", to: "1.1.0", script: "migrations/b.ts" },
      ],
    ],
    [
      "equal to: ordered by from, then script",
      [
        { from: "1.0.5", to: "1.1.0", script: "migrations/z.ts" },
        { from: "1.0.0", to: "1.1.0", script: "migrations/y.ts" },
        { from: "1.0.0", to: "1.1.0", script: "migrations/x.ts" },
      ],
      "1.0.0",
      "1.1.0",
      [
        { from: "1.0.0", to: "1.1.0", script: "migrations/x.ts" },
        { from: "1.0.0", to: "1.1.0", script: "migrations/y.ts" },
        { from: "1.0.5", to: "1.1.0", script: "migrations/z.ts" },
      ],
    ],
  ];
  for (const [name, steps, installed, target, expected] of table) {
    await t.step(name, () => {
      assert.deepEqual(migrationChain(steps, installed, target, 64), expected);
    });
  }
});

Deno.test("migrationChain() throws migration.chain_too_long past maxSteps", () => {
  assert.equal(
    codeOf(() => migrationChain([A, B, C], "1.0.0", "2.0.0", 2)),
    "migration.chain_too_long",
  );
  assert.deepEqual(migrationChain([A, B, C], "1.0.0", "2.0.0", 3), [A, B, C]);
  // Skipped steps do not count against the limit.
  assert.deepEqual(migrationChain([A, B, C], "1.1.0", "2.0.0", 2), [B, C]);
  const many = Array.from({ length: 65 }, (_, i) => ({
    from: `1.0.${i}`,
    to: `1.0.${i + 1}`,
    script: `migrations/${i}.ts`,
  }));
  assert.equal(
    codeOf(() => migrationChain(many, "1.0.0", "1.0.65", 64)),
    "migration.chain_too_long",
  );
});

Deno.test("migrationChain() refuses steps that are not strict SemVer or go backwards", () => {
  const bad = (from: string, to: string) => [{ from, to, script: "migrations/x.ts" }];
  assert.equal(
    codeOf(() => migrationChain(bad("1.0", "1.1.0"), "1.0.0", "2.0.0", 64)),
    "bundle.invalid_migrations",
  );
  assert.equal(
    codeOf(() => migrationChain(bad("1.1.0", "1.0.0"), "1.0.0", "2.0.0", 64)),
    "bundle.invalid_migrations",
  );
  assert.equal(
    codeOf(() => migrationChain(bad("1.1.0", "1.1.0"), "1.0.0", "2.0.0", 64)),
    "bundle.invalid_migrations",
  );
  assert.equal(codeOf(() => migrationChain([A], "v1.0.0", "2.0.0", 64)), "internal.unexpected");
});
