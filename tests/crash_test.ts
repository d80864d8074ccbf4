/**
 * Crash safety: the real CLI is SIGKILLed at every point of its plan (before and after each
 * step, at the commit mark, before each post-commit step) and at seeded random moments inside
 * the transaction, during install, upgrade, rollback and uninstall. The next command must find
 * the root exactly old or exactly new, with a clean doctor. The points are the plan's own: each
 * case asks `--dry-run --json` for its steps, so a step the planner gains is crashed at too (and
 * the summary fails if no case reaches a step or post-commit kind the planner knows).
 * A crash mid-append, leaving a torn last journal line, is recovered too.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { POST_KINDS, STEP_KINDS } from "../core/plan/mod.ts";
import { copyFixture, nx, spawnNx, stoppedAt } from "./helpers.ts";
import { cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";

interface OpCase {
  name: string;
  base: [("install" | "upgrade" | "rollback"), string][];
  /** Policy set on the base root after `base` ran. */
  policy?: Record<string, string>;
  args: () => Promise<string[]>;
  /** Step kinds the case exists for: the derived plan must contain them. */
  about: string[];
  /**
   * Crash only at the `about` kinds, no random kills: for a case whose other steps are another
   * case's plan exactly (the same points would be crashed at twice).
   */
  focus?: boolean;
  /** The operation ends where it began (a reinstall of an intact tree): old and new are equal. */
  same?: boolean;
}

const CASES: OpCase[] = [
  {
    name: "install",
    base: [],
    args: async () => ["pkg", "install", await copyFixture("notes-1.0.0")],
    about: ["create-app-dir", "stage-version", "warm-icon-cache"],
  },
  {
    name: "upgrade",
    base: [["install", "notes-1.0.0"]],
    args: async () => ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    about: ["run-migrations", "publish-data"],
  },
  {
    // 1.1.0 is retained after the rollback, so the upgrade retires it first (retire-version).
    name: "re-upgrade to a retained version",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"], ["rollback", "notes"]],
    args: async () => ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    about: ["retire-version"],
  },
  {
    // With nothing retained, the previous version is collected after the commit (gc-versions).
    name: "upgrade past retention",
    base: [["install", "notes-1.0.0"]],
    policy: { "retain-versions": "0" },
    args: async () => ["pkg", "upgrade", await copyFixture("notes-1.1.0")],
    about: ["gc-versions"],
    focus: true,
  },
  {
    name: "rollback",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: () => Promise.resolve(["pkg", "rollback", "notes"]),
    about: ["switch-current"],
  },
  {
    name: "uninstall",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: () => Promise.resolve(["pkg", "uninstall", "notes"]),
    about: ["detach-app", "drop-icon-cache"],
  },
  {
    // The same version again: staged, verified, the old tree set aside, the copy published.
    name: "reinstall",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: async () => ["pkg", "install", "--reinstall", await copyFixture("notes-1.1.0")],
    about: ["verify-staged", "retire-files"],
    same: true,
  },
  {
    name: "clear-data",
    base: [["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]],
    args: () => Promise.resolve(["pkg", "clear-data", "notes"]),
    about: ["detach-data", "create-data"],
  },
];

interface Prepared {
  base: string;
  /** observe() before and after the operation ran to completion. */
  old: string;
  next: string;
  /** The kinds of the plan's steps and post-commit steps, in order, from `--dry-run --json`. */
  steps: string[];
  post: string[];
}

const unique = (kinds: string[]) => [...new Set(kinds)];

/** What the run covered: crash points, the plans' step kinds, where random kills landed. */
const covered = {
  points: 0,
  kinds: new Set<string>(),
  random: { uncommitted: 0, committed: 0, after: 0 },
};

/** Per case, once: the base root, the old and new states, and the plan the operation runs. */
const prepared = new Map<string, Promise<Prepared>>();
function prepare(c: OpCase): Promise<Prepared> {
  if (!prepared.has(c.name)) {
    prepared.set(
      c.name,
      (async () => {
        const base = await preparedRoot(c.base);
        for (const [key, value] of Object.entries(c.policy ?? {})) {
          const r = await nx(["pkg", "policy", "set", key, value, "--json"], { root: base });
          assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
        }
        const old = await observe(await cloneRoot(base));
        const dry = await nx([...await c.args(), "--dry-run", "--json"], {
          root: await cloneRoot(base),
        });
        assert.equal(dry.json?.code, "ok", dry.stdout + dry.stderr);
        const kinds = (list: { kind: string }[]) => unique(list.map((s) => s.kind));
        const steps = kinds(dry.json!.data.steps);
        const post = kinds(dry.json!.data.post);
        for (const kind of [...steps, ...post]) covered.kinds.add(kind);
        for (const kind of c.about) {
          assert.ok([...steps, ...post].includes(kind), `${c.name}: the plan has no ${kind}`);
        }
        const done = await cloneRoot(base);
        const ok = await nx([...await c.args(), "--json"], { root: done });
        assert.equal(ok.json?.code, "ok", ok.stdout);
        const next = await observe(done);
        if (c.same) assert.equal(old, next);
        else assert.notEqual(old, next);
        return { base, old, next, steps, post };
      })(),
    );
  }
  return prepared.get(c.name)!;
}

/** Every crash point of a plan: before and after each step, the commit mark, each post step. */
function crashPoints(c: OpCase, p: Prepared): string[] {
  const steps = c.focus ? p.steps.filter((s) => c.about.includes(s)) : p.steps;
  const post = c.focus ? p.post.filter((k) => c.about.includes(k)) : p.post;
  return [
    ...steps.flatMap((s) => [`crash:${s}`, `crash-after:${s}`]),
    ...(c.focus ? [] : ["crash:commit"]),
    ...post.map((k) => `crash:post:${k}`),
  ];
}

async function journalExists(root: string): Promise<boolean> {
  try {
    await Deno.lstat(join(root, "pkg", "journal"));
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The complete lines of the journal a killed run left (a torn last one is not a line). */
async function journalLines(root: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(root, "pkg", "journal"));
  return text.split("\n").slice(0, -1);
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

/** Each step sleeps this long first, so random kills spread across the steps. */
const STEP_DELAY_MS = 40;

for (const c of CASES) {
  Deno.test(`crash during ${c.name} at every point of its plan leaves old or new`, async (t) => {
    const p = await prepare(c);
    for (const point of crashPoints(c, p)) {
      await t.step(point, async () => {
        const root = await cloneRoot(p.base);
        const status = await spawnNx(await c.args(), root, { NX_FAULT: point }).status;
        assert.equal(
          status.signal,
          "SIGKILL",
          `${point}: expected the process to be killed, got ${status.code}`,
        );
        // Every point is inside the transaction: the journal was created and not yet finished.
        assert.ok(await journalExists(root), `${point}: killed outside the transaction`);
        await doctorClean(root); // first command after the crash: recovery runs here
        const after = await observe(root);
        // The commit point is the journal's commit mark, written after the last step.
        const expectNew = point === "crash:commit" || point.startsWith("crash:post:");
        assert.equal(
          after,
          expectNew ? p.next : p.old,
          `${point}: not the ${expectNew ? "new" : "old"} state`,
        );
        covered.points++;
      });
    }
  });

  if (c.focus) continue;
  Deno.test(`crash during ${c.name} at random moments leaves old or new`, async (t) => {
    const p = await prepare(c);
    const random = prng(c.name.length * 7919);
    // The writer is frozen before its first step (the journal exists from then on), released,
    // and killed a random time later, within the time its remaining steps and its post-commit
    // steps sleep at least: before or after the commit mark, never after the journal is gone.
    const delays = [
      ...p.steps.map((s) => `delay:${s}:${STEP_DELAY_MS}`),
      ...p.post.map((k) => `delay:post:${k}:${STEP_DELAY_MS}`),
    ];
    const window = (p.steps.length - 1 + p.post.length) * STEP_DELAY_MS;
    for (let i = 0; i < 6; i++) {
      const ms = Math.floor(random() * window);
      await t.step(`kill ${ms} ms into the transaction`, async () => {
        const root = await cloneRoot(p.base);
        const writer = await stoppedAt(p.steps[0], await c.args(), root, delays);
        assert.ok(await journalExists(root), "frozen before the first step without a journal");
        writer.child.kill("SIGCONT");
        const timer = setTimeout(() => {
          try {
            writer.child.kill("SIGKILL");
          } catch { /* already gone */ }
        }, ms);
        const status = await writer.output;
        clearTimeout(timer);
        // Inside: killed with the journal still there; it tells which side of the commit mark
        // the kill landed on, so which state recovery must reach. Otherwise the run finished
        // first (the kill came late, e.g. under load): counted, and the state must be new.
        const inside = status.signal === "SIGKILL" && await journalExists(root);
        const committed = inside && (await journalLines(root)).includes('{"committed":true}');
        if (!inside) {
          covered.random.after++;
          console.log(`${c.name}: the kill at ${ms} ms came after the transaction ended`);
        } else if (committed) covered.random.committed++;
        else covered.random.uncommitted++;
        await doctorClean(root);
        const expectNew = !inside || committed;
        assert.equal(
          await observe(root),
          expectNew ? p.next : p.old,
          `kill after ${ms} ms (${inside ? "" : "not "}inside, ${
            committed ? "" : "not "
          }committed): not the ${expectNew ? "new" : "old"} state`,
        );
        covered.points++;
      });
    }
  });
}

// A crash mid-append leaves a torn last line (bytes after the last newline): that entry was
// never durable, so recovery acts as if it had not been written. Made from a journal nx really
// left (killed at a point), with its last line cut short as a crash inside write() would.
Deno.test("a crash mid-append leaves a torn last journal line; the next command recovers", async (t) => {
  const upgrade = CASES.find((c) => c.name === "upgrade")!;
  const p = await prepare(upgrade);
  const cases: [point: string, lost: string, expect: "old" | "new"][] = [
    // Killed before the first step: the journal is its header only; torn, nothing began.
    [`crash:${p.steps[0]}`, "the header", "old"],
    [`crash-after:${p.steps[0]}`, `done of ${p.steps[0]}`, "old"],
    ["crash:commit", "the commit mark", "old"],
    [`crash:post:${p.post.at(-1)}`, "a post-commit entry", "new"],
  ];
  for (const [point, lost, expect] of cases) {
    await t.step(`torn ${lost} (${point})`, async () => {
      const root = await cloneRoot(p.base);
      const status = await spawnNx(await upgrade.args(), root, { NX_FAULT: point }).status;
      assert.equal(status.signal, "SIGKILL");
      const path = join(root, "pkg", "journal");
      const bytes = await Deno.readFile(path);
      assert.equal(bytes.at(-1), 0x0a, "the journal nx left ends with a complete line");
      const lastLine = bytes.lastIndexOf(0x0a, bytes.length - 2) + 1;
      // Keep about half of the last line, never its newline.
      await Deno.writeFile(path, bytes.subarray(0, lastLine + ((bytes.length - lastLine) >> 1)));
      await doctorClean(root);
      assert.equal(await journalExists(root), false, "recovery left the journal");
      assert.equal(await observe(root), expect === "new" ? p.next : p.old);
    });
  }
});

Deno.test({
  name: "crash coverage summary",
  fn() {
    const { uncommitted, committed, after } = covered.random;
    console.log(
      `crash points covered: ${covered.points}; random kills before the commit mark: ` +
        `${uncommitted}, after it: ${committed}, after the transaction: ${after}`,
    );
    assert.ok(covered.points > 0);
    // Only meaningful when every case ran (not under --filter).
    if (prepared.size < CASES.length) return;
    assert.ok(uncommitted + committed > 0, "no random kill landed inside a transaction");
    const kinds = [...STEP_KINDS, ...POST_KINDS] as string[];
    const missed = kinds.filter((k) => !covered.kinds.has(k));
    assert.deepEqual(missed, [], "step kinds no crash case reaches: add a case");
  },
});
