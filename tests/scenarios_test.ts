/**
 * Upgrade and lifecycle scenarios as data (tests/scenarios/*.json), run by this one runner
 * through the real CLI. Each step runs a command and checks its code, or writes app data, or
 * checks the tree. `@<fixture>` names a committed fixture bundle (copied first).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { copyFixture, FIXTURES, nx, REPO, tempDir } from "./helpers.ts";
import { observe } from "./_roots.ts";

interface Scenario {
  name: string;
  trust?: string[];
  policy?: Record<string, string>;
  steps: ScenarioStep[];
}

type ScenarioStep =
  | { run: string[]; expect: string; markers?: string[]; unchanged?: boolean }
  | { write: Record<string, string> }
  | { current: Record<string, string | null> }
  | { contains: Record<string, string> }
  | { absent: string[] }
  | { doctor: "clean" };

async function setup(s: Scenario) {
  const work = await tempDir("nx-scenario-");
  const root = join(work, "root");
  for (const key of s.trust ?? ["dev"]) {
    const r = await nx(["pkg", "trust", "add", join(FIXTURES, "keys", `${key}.pub`), "--json"], {
      root,
    });
    assert.equal(r.code, 0, r.stdout);
  }
  for (const [key, value] of Object.entries(s.policy ?? {})) {
    const r = await nx(["pkg", "policy", "set", key, value, "--json"], { root });
    assert.equal(r.code, 0, r.stdout);
  }
  return { work, root };
}

async function resolveArgs(args: string[], work: string): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    out.push(
      a.startsWith("@") ? await copyFixture(a.slice(1), await Deno.makeTempDir({ dir: work })) : a,
    );
  }
  return out;
}

/** The apps tree plus the registry's app tables (read in-process), for "nothing changed" checks. */
const stateOf = observe;

async function runStep(step: ScenarioStep, root: string, work: string): Promise<void> {
  if ("run" in step) {
    const before = step.unchanged ? await stateOf(root) : "";
    const r = await nx([...await resolveArgs(step.run, work), "--json", "--markers"], { root });
    assert.equal(r.json?.code, step.expect, `${step.run.join(" ")}: ${r.stdout} ${r.stderr}`);
    for (const m of step.markers ?? []) {
      assert.ok(r.stderr.split("\n").includes(m), `marker ${m} missing:\n${r.stderr}`);
    }
    if (step.unchanged) assert.equal(await stateOf(root), before, "state changed");
  } else if ("write" in step) {
    for (const [path, text] of Object.entries(step.write)) {
      await Deno.mkdir(dirname(join(root, path)), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
  } else if ("current" in step) {
    for (const [app, version] of Object.entries(step.current)) {
      const link = await Deno.readLink(join(root, "apps", app, "current")).catch(() => null);
      assert.equal(link, version === null ? null : `versions/${version}`, `current of ${app}`);
    }
  } else if ("contains" in step) {
    for (const [path, needle] of Object.entries(step.contains)) {
      assert.ok(
        (await Deno.readTextFile(join(root, path))).includes(needle),
        `${path} lacks ${needle}`,
      );
    }
  } else if ("absent" in step) {
    for (const path of step.absent) {
      await assert.rejects(
        Deno.lstat(join(root, path)),
        Deno.errors.NotFound,
        `${path} should not exist`,
      );
    }
  } else {
    const r = await nx(["pkg", "doctor", "--json"], { root });
    assert.equal(r.json?.code, "ok", `doctor: ${r.stdout} ${r.stderr}`);
  }
}

const dir = join(REPO, "tests", "scenarios");
for await (const entry of Deno.readDir(dir)) {
  if (!entry.name.endsWith(".json")) continue;
  const scenario: Scenario = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
  Deno.test(`scenario ${entry.name.replace(/\.json$/, "")}: ${scenario.name}`, async () => {
    const { work, root } = await setup(scenario);
    for (const step of scenario.steps) await runStep(step, root, work);
  });
}
