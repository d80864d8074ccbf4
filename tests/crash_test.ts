/**
 * Crash safety: the real CLI is SIGKILLed at every named step (before and after it) and at
 * seeded random moments, during install, upgrade, rollback and uninstall. The next command
 * must find the root exactly old or exactly new, with a clean doctor.
 */
import assert from "node:assert/strict";
import { copyFixture, nx, spawnNx } from "./helpers.ts";
import { cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";

interface OpCase {
  name: string;
  base: [("install" | "upgrade" | "rollback"), string][];
  args: () => Promise<string[]>;
  points: string[];
}

const withPost = (steps: string[], post: string[]) => [
  ...steps.flatMap((s) => [`crash:${s}`, `crash-after:${s}`]),
  "crash:commit",
  ...post.map((p) => `crash:post:${p}`),
];

const CASES: OpCase[] = [
  {
    name: "install",
    base: [],
    args: async () => ["pkg", "install", await copyFixture("notes-1.0.0")],
    points: withPost(
      [
        "create-app-dir",
        "stage-version",
        "prepare-data",
        "publish-version",
        "publish-data",
        "switch-current",
        "commit-registry",
      ],
      ["warm-icon-cache", "notify-registry", "purge-staging"],
    ),
  },
  {
    name: "upgrade",
    base: [["install", "notes-1.0.0"]],
    args: async () => ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    points: withPost(
      [
        "stage-version",
        "prepare-data",
        "run-migrations",
        "publish-version",
        "publish-data",
        "switch-current",
        "commit-registry",
      ],
      ["warm-icon-cache", "notify-registry", "purge-staging"],
    ),
  },
  {
    // 1.1.0 is retained after the rollback, so the upgrade retires it first (retire-version).
    name: "re-upgrade to a retained version",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"], ["rollback", "notes"]],
    args: async () => ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    points: withPost(
      [
        "stage-version",
        "prepare-data",
        "run-migrations",
        "retire-version",
        "publish-version",
        "publish-data",
        "switch-current",
        "commit-registry",
      ],
      ["warm-icon-cache", "notify-registry", "purge-staging"],
    ),
  },
  {
    name: "rollback",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: () => Promise.resolve(["pkg", "rollback", "notes"]),
    points: withPost(["switch-current", "commit-registry"], [
      "warm-icon-cache",
      "notify-registry",
      "purge-staging",
    ]),
  },
  {
    name: "uninstall",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: () => Promise.resolve(["pkg", "uninstall", "notes"]),
    points: withPost(["detach-app", "commit-registry"], [
      "drop-icon-cache",
      "notify-registry",
      "purge-staging",
    ]),
  },
];

/** Runs nx and returns how it ended (exit code, or the signal that killed it). */
async function runUntil(
  args: string[],
  root: string,
  env: Record<string, string>,
  killAfterMs?: number,
) {
  const child = spawnNx(args, root, env);
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, killAfterMs);
  const status = await child.status;
  clearTimeout(timer);
  return status;
}

/** A tiny seeded PRNG (mulberry32) so random kill moments are reproducible. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let covered = 0;

for (const c of CASES) {
  Deno.test(`crash during ${c.name} at every named step leaves old or new`, async (t) => {
    const base = await preparedRoot(c.base);
    const old = await observe(await cloneRoot(base));
    const done = await cloneRoot(base);
    const ok = await nx([...await c.args(), "--json"], { root: done });
    assert.equal(ok.json?.code, "ok", ok.stdout);
    const next = await observe(done);
    assert.notEqual(old, next);
    for (const point of c.points) {
      await t.step(point, async () => {
        const root = await cloneRoot(base);
        const status = await runUntil(await c.args(), root, { NX_FAULT: point });
        assert.equal(
          status.signal,
          "SIGKILL",
          `${point}: expected the process to be killed, got ${status.code}`,
        );
        await doctorClean(root); // first command after the crash: recovery runs here
        const after = await observe(root);
        // The commit point is the journal's commit mark, written after the last step.
        const expectNew = point === "crash:commit" || point.startsWith("crash:post:");
        assert.equal(
          after,
          expectNew ? next : old,
          `${point}: not the ${expectNew ? "new" : "old"} state`,
        );
        covered++;
      });
    }
  });

  Deno.test(`crash during ${c.name} at random moments leaves old or new`, async (t) => {
    const base = await preparedRoot(c.base);
    const old = await observe(await cloneRoot(base));
    const done = await cloneRoot(base);
    await nx([...await c.args(), "--json"], { root: done });
    const next = await observe(done);
    const random = prng(c.name.length * 7919);
    for (let i = 0; i < 6; i++) {
      const delay = Math.floor(150 + random() * 600);
      await t.step(`kill after ${delay} ms`, async () => {
        const root = await cloneRoot(base);
        // Each step sleeps a little so kills land inside the transaction, not only before it.
        await runUntil(await c.args(), root, {
          NX_FAULT: c.points.filter((p) =>
            p.startsWith("crash:") && !p.includes("post") && p !== "crash:commit"
          ).map((p) => `delay:${p.slice(6)}:40`).join(","),
        }, delay);
        await doctorClean(root);
        const after = await observe(root);
        assert.ok(after === old || after === next, `kill after ${delay} ms: neither old nor new`);
        covered++;
      });
    }
  });
}

Deno.test({
  name: "crash coverage summary",
  fn() {
    console.log(`crash points covered: ${covered}`);
    assert.ok(covered > 0);
  },
});
