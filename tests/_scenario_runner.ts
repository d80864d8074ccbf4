/**
 * The runner of the scenario data files (tests/scenarios/*.json), shared by the local suite
 * (scenarios_test.ts) and the dual run through an agent (agent_dual_test.ts). Each step runs a
 * command and checks its code, or writes app data, or checks the tree. `@<fixture>` names a
 * committed fixture bundle, copied first to `<work>/fixture-<n>/` (the same name in every run,
 * so two runs' outputs differ only by their work directory).
 *
 * Where a command runs is the {@link ScenarioRoot}'s business: the root is always a directory
 * on this machine (an agent's root is too), which the checks read directly.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { copyFixture, FIXTURES, nx, type NxRun, REPO, tempDir } from "./helpers.ts";
import { observe } from "./_roots.ts";

export interface Scenario {
  name: string;
  trust?: string[];
  policy?: Record<string, string>;
  steps: ScenarioStep[];
}

export type RunStep = { run: string[]; expect: string; markers?: string[]; unchanged?: boolean };

export type ScenarioStep =
  | RunStep
  | { write: Record<string, string> }
  | { current: Record<string, string | null> }
  | { contains: Record<string, string> }
  | { absent: string[] }
  | { doctor: "clean" };

/** Every scenario file, sorted by name (the file name without `.json`). */
export async function loadScenarios(): Promise<{ file: string; scenario: Scenario }[]> {
  const dir = join(REPO, "tests", "scenarios");
  const out = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".json")) continue;
    const scenario: Scenario = JSON.parse(await Deno.readTextFile(join(dir, entry.name)));
    out.push({ file: entry.name.replace(/\.json$/, ""), scenario });
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

/** A root a scenario runs on, and how a command reaches it. */
export interface ScenarioRoot {
  /** Where fixture copies go; the root is `<work>/root`. */
  work: string;
  root: string;
  /** Runs a root command (`--json --markers` already in `args`) on this root. */
  nx(args: string[]): Promise<NxRun>;
}

/** `<work>/root` with the scenario's trust and policy, set up by the local CLI. */
export async function setupRoot(s: Scenario, prefix = "nx-scenario-") {
  const work = await tempDir(prefix);
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

/** The local CLI on `root` (`--root`). */
export function localRoot(work: string, root: string): ScenarioRoot {
  return { work, root, nx: (args) => nx(args, { root }) };
}

/** Copies each `@<fixture>` argument to `<work>/fixture-<n>/` (n counts the copies of a run). */
export class ArgResolver {
  #copies = 0;
  constructor(private readonly work: string) {}

  async resolve(args: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const a of args) {
      if (!a.startsWith("@")) {
        out.push(a);
        continue;
      }
      const dir = join(this.work, `fixture-${++this.#copies}`);
      await Deno.mkdir(dir);
      out.push(await copyFixture(a.slice(1), dir));
    }
    return out;
  }
}

/** Runs one step; a `run` step (or `doctor`) gives its command's output. */
export async function runStep(
  step: ScenarioStep,
  on: ScenarioRoot,
  args: ArgResolver,
): Promise<NxRun | undefined> {
  const root = on.root;
  if ("run" in step) {
    const before = step.unchanged ? await observe(root) : "";
    const r = await on.nx([...await args.resolve(step.run), "--json", "--markers"]);
    assert.equal(r.json?.code, step.expect, `${step.run.join(" ")}: ${r.stdout} ${r.stderr}`);
    for (const m of step.markers ?? []) {
      assert.ok(r.stderr.split("\n").includes(m), `marker ${m} missing:\n${r.stderr}`);
    }
    if (step.unchanged) assert.equal(await observe(root), before, "state changed");
    return r;
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
    const r = await on.nx(["pkg", "doctor", "--json"]);
    assert.equal(r.json?.code, "ok", `doctor: ${r.stdout} ${r.stderr}`);
    return r;
  }
  return undefined;
}
