/**
 * The dual run of issue 9: every scenario of tests/scenarios/ runs twice, step by step — on a
 * local root (`--root`) and through a real `nx agent` subprocess over loopback TCP on a root set
 * up the same way (`--transport … --identity …`) — and each command's stdout, stderr and exit
 * code must be the same once {@link normalise} has replaced what must differ. The agent's own
 * stderr must carry the markers of each call, and the `bundle: … ok` ones only after success.
 * Also: the human output of a few commands, and a fleet of three agents.
 */
import assert from "node:assert/strict";
import { ERROR_TABLE, EXIT_CLASSES } from "../core/errors.ts";
import { copyFixture, nx, type NxRun, trustedRoot } from "./helpers.ts";
import { Agent, authorizedKeys, newHost, nxOn } from "./_agent.ts";
import {
  ArgResolver,
  loadScenarios,
  localRoot,
  type RunStep,
  runStep,
  type Scenario,
  type ScenarioRoot,
  setupRoot,
} from "./_scenario_runner.ts";

/**
 * What two runs of the same command may differ by, and nothing else: the run's work directory
 * (its root and fixture copies), and wall-clock times (audit entries, transaction ids).
 */
function normalise(text: string, work: string): string {
  const filters: [string | RegExp, string][] = [
    [work, "<work>"],
    [/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>"],
    [/"txid":"[^"]*"/g, '"txid":"<txid>"'],
  ];
  return filters.reduce((t, [from, to]) => t.replaceAll(from, to), text);
}

function assertSameRun(local: NxRun, remote: NxRun, works: [string, string], what: string) {
  const [a, b] = works;
  assert.equal(normalise(remote.stdout, b), normalise(local.stdout, a), `${what}: stdout`);
  assert.equal(normalise(remote.stderr, b), normalise(local.stderr, a), `${what}: stderr`);
  assert.equal(remote.code, local.code, `${what}: exit code`);
}

const host = await newHost();
const keys = await authorizedKeys([host]);

/** The agent's root as a scenario root: commands go through the agent. */
function agentRoot(agent: Agent, work: string): ScenarioRoot {
  return { work, root: agent.root, nx: (args) => nxOn(host, [agent.address], args) };
}

/**
 * The agent's log for one run step: the step's markers, and `bundle: install ok` /
 * `bundle: uninstall ok` exactly when the step changed the root that way.
 */
function assertAgentLog(step: RunStep, run: NxRun, logged: string[]) {
  for (const m of step.markers ?? []) assert.ok(logged.includes(m), `agent lacks ${m}`);
  const [, verb] = step.run;
  const op = run.json?.data;
  const ok = run.json?.code === "ok";
  const changed = ok && op?.dryRun === false;
  if (verb === "install" || verb === "upgrade") {
    const line = `bundle: install ok ${op?.appId}@${op?.toVersion}`;
    assert.equal(logged.includes(line), changed, `${line} on the agent:\n${logged.join("\n")}`);
  }
  if (verb === "uninstall") {
    assert.equal(logged.some((l) => l.startsWith("bundle: uninstall ok ")), changed);
  }
  if (!ok) assert.ok(!logged.some((l) => l.startsWith("bundle: ")), logged.join("\n"));
}

/** Runs `scenario` on a local root and through an agent, comparing every command. */
async function dualRun(scenario: Scenario): Promise<void> {
  const [a, b] = await Promise.all([
    setupRoot(scenario, "nx-dual-local-"),
    setupRoot(scenario, "nx-dual-agent-"),
  ]);
  // --allow-admin: scenarios change the policy (dev-mode, sdk-version) as a step.
  await using agent = await Agent.start({
    root: b.root,
    authorizedKeys: keys,
    args: ["--allow-admin"],
  });
  const local = localRoot(a.work, a.root);
  const remote = agentRoot(agent, b.work);
  const [localArgs, remoteArgs] = [new ArgResolver(a.work), new ArgResolver(b.work)];
  for (const [i, step] of scenario.steps.entries()) {
    const mark = agent.mark();
    const [l, r] = await Promise.all([
      runStep(step, local, localArgs),
      runStep(step, remote, remoteArgs),
    ]);
    if (l === undefined || r === undefined) continue;
    assertSameRun(l, r, [a.work, b.work], `step ${i} ${JSON.stringify(step)}`);
    if ("run" in step) {
      await agent.sync();
      assertAgentLog(step, r, agent.since(mark));
    }
  }
}

Deno.test("dual run: each scenario gives the same output locally and through nx agent", async (t) => {
  // Two scenarios at a time (each runs its two legs at once): the CLI runs keep 2 cores busy.
  // Concurrent steps must do without the sanitizers; each step awaits all it starts.
  const queue = await loadScenarios();
  const worker = async () => {
    for (let next; (next = queue.shift());) {
      const { file, scenario } = next;
      await t.step({
        name: `${file}: ${scenario.name}`,
        fn: () => dualRun(scenario),
        sanitizeOps: false,
        sanitizeResources: false,
        sanitizeExit: false,
      });
    }
  };
  await Promise.all([worker(), worker()]);
});

Deno.test("human output of list, info, install and failing installs through nx agent is the local output", async () => {
  const [a, b] = await Promise.all([
    setupRoot({ name: "human", steps: [] }, "nx-human-local-"),
    setupRoot({ name: "human", steps: [] }, "nx-human-agent-"),
  ]);
  await using agent = await Agent.start({ root: b.root, authorizedKeys: keys });
  const local = localRoot(a.work, a.root);
  const remote = agentRoot(agent, b.work);
  const [localArgs, remoteArgs] = [new ArgResolver(a.work), new ArgResolver(b.work)];
  const commands = [
    ["pkg", "install", "@notes-1.0.0"],
    ["pkg", "list"],
    ["pkg", "info", "notes"],
    ["pkg", "install", "@notes-1.0.0"], // app.already_installed
    ["pkg", "install", "@reader-1.0.0"], // policy.publisher_unknown: signed by store
    ["pkg", "upgrade", "@notes-1.1.0", "--dry-run"],
  ];
  for (const command of commands) {
    const [l, r] = await Promise.all([
      localArgs.resolve(command).then((args) => local.nx(args)),
      remoteArgs.resolve(command).then((args) => remote.nx(args)),
    ]);
    assertSameRun(l, r, [a.work, b.work], command.join(" "));
  }
});

Deno.test("a fleet of three agents: one envelope, targets in order, a stopped agent fails alone", async () => {
  const roots = await Promise.all([1, 2, 3].map(() => trustedRoot(["dev"])));
  const agents = await Promise.all(
    roots.map((root) => Agent.start({ root, authorizedKeys: keys })),
  );
  try {
    const targets = agents.map((a) => a.address);
    const install = await nxOn(host, targets, [
      "pkg",
      "install",
      await copyFixture("notes-1.0.0"),
      "--json",
    ]);
    assert.equal(install.code, 0, install.stdout + install.stderr);
    assert.deepEqual(
      install.json?.data.targets.map((t: { target: string; ok: boolean; code: string }) => [
        t.target,
        t.ok,
        t.code,
      ]),
      targets.map((t) => [t, true, "ok"]),
    );

    await agents[1].stop();
    const upgrade = await nxOn(host, targets, [
      "pkg",
      "upgrade",
      await copyFixture("notes-1.1.0"),
      "--json",
    ]);
    const unreachable = EXIT_CLASSES[ERROR_TABLE["transport.unreachable"].exitClass];
    assert.equal(upgrade.code, unreachable, upgrade.stdout + upgrade.stderr);
    assert.equal(upgrade.json?.code, "transport.unreachable");
    assert.deepEqual(
      upgrade.json?.data.targets.map((t: { target: string; code: string }) => [t.target, t.code]),
      [[targets[0], "ok"], [targets[1], "transport.unreachable"], [targets[2], "ok"]],
    );
    for (const i of [0, 2]) {
      const info = await nx(["pkg", "info", "notes", "--json"], { root: roots[i] });
      assert.equal(info.json?.data.version, "1.1.0", info.stdout);
    }

    const human = await nxOn(host, targets, ["pkg", "list"]);
    assert.equal(human.code, unreachable);
    const lines = human.stdout.trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => l.split(/\s+/).slice(0, 2)), [
      [targets[0], "ok"],
      [targets[1], "error"],
      [targets[2], "ok"],
      ["3", "targets:"],
    ]);
    assert.match(lines[1], /\[transport\.unreachable\]$/);
    assert.equal(lines[3], "3 targets: 2 ok, 1 failed");
  } finally {
    for (const agent of agents) await agent[Symbol.asyncDispose]();
  }
});
