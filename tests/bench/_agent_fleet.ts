/**
 * Agent suite, fleet rows: `bin/nx pkg install BUNDLE --transport A1 … --transport AN
 * --parallel 8 --json` to N long-running agents on loopback (50; 3 with --quick), each on its own
 * root, against the same install to one agent, whole processes, interleaved; every root involved
 * is reset before each sample (untimed). Target (big, the issue's fixture): ≤ 3×. The same for
 * notes (7 files, 7 KiB) as info: with big every target costs a full upload and install of
 * 16 MiB, so on two cores the fleet's time is bound by N installs' CPU; notes shows the cost of
 * the fleet itself.
 *
 * Memory: every agent's resident set once idle after start, and its peak after the installs
 * (/proc/PID/status VmRSS, VmHWM), with the machine's MemAvailable.
 */
import { join } from "node:path";
import {
  type AgentProcess,
  cpuMsOf,
  hostCmd,
  memoryOf,
  resetRoot,
  startAgents,
  stopAll,
} from "./_agent_proc.ts";
import { type AgentSetup, sizeText } from "./_agent_install.ts";
import {
  type Cmd,
  firstCalls,
  GNU_TIME,
  gnuTimeAvailable,
  median,
  metric,
  type Outcome,
  runProcess,
  sample,
} from "./_measure.ts";
import { expectOkEnvelope, fixtureBundle, listFiles, totalBytes } from "./_nx.ts";

export const FLEET_PARALLEL = 8;

function memAvailableMiB(): number {
  return Deno.systemMemoryInfo().available / (1024 * 1024);
}

/** User and system CPU of one untimed run of `c`, from GNU time. */
async function cpuSeconds(c: Cmd, scratchFile: string): Promise<string> {
  await runProcess({
    ...c,
    cmd: GNU_TIME,
    args: ["-f", "%U %S", "-o", scratchFile, c.cmd, ...c.args],
  });
  const [user, system] = (await Deno.readTextFile(scratchFile)).trim().split("\n").at(-1)!
    .split(" ");
  return `${user} s user + ${system} s system CPU`;
}

/** Resets every root, `at` at a time. */
async function resetAll(template: string, agents: AgentProcess[], at = 8): Promise<void> {
  for (let i = 0; i < agents.length; i += at) {
    await Promise.all(agents.slice(i, i + at).map((a) => resetRoot(template, a.root)));
  }
}

async function expectApp(agents: AgentProcess[], app: string, files: string[], what: string) {
  for (const a of agents) {
    const current = await listFiles(join(a.root, "apps", app, "current")).catch(() => []);
    if (current.join("\n") !== files.join("\n")) {
      throw new Error(
        `cannot measure ${what}: ${a.target} holds ${current.length} files of ${app}`,
      );
    }
  }
}

export async function fleetRows(s: AgentSetup): Promise<Outcome[]> {
  const { ctx, host, template } = s;
  const count = ctx.quick ? 3 : 50;
  const memBefore = memAvailableMiB();
  ctx.log(`agent: starting ${count} agents for the fleet rows`);
  const started = performance.now();
  const roots = Array.from({ length: count }, (_, i) => join(ctx.scratch, `fleet-root-${i}`));
  for (const root of roots) await resetRoot(template, root);
  const agents = await startAgents(roots, host);
  const startSeconds = (performance.now() - started) / 1000;
  try {
    const idle = await memoryOf(agents);
    const memStarted = memAvailableMiB();
    // A repeated --transport, not --targets FILE: at this revision a command with --targets
    // and no --transport runs on the local root (cli/root_command.ts asks isLocal() of the
    // --transport texts alone).
    const transports = agents.flatMap((a) => ["--transport", a.target]);
    const bundles = [
      { key: "big", app: "big", bundle: ctx.big.bundle },
      { key: "notes", app: "notes", bundle: fixtureBundle("notes-1.0.0") },
    ];
    const cpu: Record<string, number[]> = { big: [], notes: [] };
    const fleets: Record<string, Cmd> = {};
    const firstTime = firstCalls();
    const sides: Record<string, () => Promise<number>> = {};
    for (const b of bundles) {
      const files = await listFiles(b.bundle);
      const fleet = hostCmd(host, [
        "pkg",
        "install",
        b.bundle,
        ...transports,
        "--parallel",
        String(FLEET_PARALLEL),
        "--json",
      ]);
      fleets[b.key] = fleet;
      sides[`fleet-${b.key}`] = async () => {
        await resetAll(template, agents);
        const cpuBefore = await cpuMsOf(agents);
        const run = await runProcess(fleet);
        const cpuAfter = await cpuMsOf(agents);
        cpu[b.key].push(cpuAfter.reduce((n, c, i) => n + c - cpuBefore[i], 0));
        if (firstTime(`fleet-${b.key}`)) {
          const envelope = JSON.parse(run.stdout);
          if (envelope.ok !== true || envelope.data?.ok !== count) {
            throw new Error(`cannot measure the fleet install: ${run.stdout.slice(0, 2000)}`);
          }
          await expectApp(agents, b.app, files, `the fleet install of ${b.key}`);
        }
        return run.ms;
      };
      const one = hostCmd(host, [
        "pkg",
        "install",
        b.bundle,
        "--transport",
        agents[0].target,
        "--json",
      ]);
      sides[`one-${b.key}`] = async () => {
        await resetRoot(template, agents[0].root);
        const run = await runProcess(one);
        if (firstTime(`one-${b.key}`)) {
          expectOkEnvelope(run.stdout, "nx pkg install --transport");
          await expectApp(agents.slice(0, 1), b.app, files, `the install of ${b.key}`);
        }
        return run.ms;
      };
    }
    ctx.log(`agent: fleet of ${count} (--parallel ${FLEET_PARALLEL}) vs one agent, big and notes`);
    const got = await sample(ctx.plan, sides);
    const peaks = await memoryOf(agents);
    const memAfter = memAvailableMiB();
    const hostCpu: Record<string, string> = {};
    if (await gnuTimeAvailable()) {
      ctx.log("agent: one more fleet install of each, untimed, under GNU time (the host's CPU)");
      for (const b of bundles) {
        await resetAll(template, agents);
        hostCpu[b.key] = await cpuSeconds(fleets[b.key], join(ctx.scratch, "host-time"));
      }
    }

    const cores = navigator.hardwareConcurrency;
    const cpuText = (key: string) => {
      const ms = median(cpu[key].slice(ctx.plan.warmup));
      return `the ${count} agents used ${(ms / 1000).toFixed(1)} s of CPU per fleet install ` +
        `(median; /proc utime+stime): ≥ ${(ms / 1000 / cores).toFixed(1)} s of wall time on ` +
        `${cores} cores before the host's own CPU` +
        (hostCpu[key] ? `; the host (one extra run, GNU time): ${hostCpu[key]}` : "");
    };
    const outcomes: Outcome[] = [];
    for (const b of bundles) {
      const bytes = await totalBytes(b.bundle, await listFiles(b.bundle));
      outcomes.push(metric({
        suite: s.suite,
        name: `fleet: install ${b.key} (${sizeText(bytes)}) to ${count} agents ` +
          `(--parallel ${FLEET_PARALLEL}) vs to one agent`,
        unit: "ms",
        nxLabel: `bin/nx pkg install ${b.key}.nxb --transport <agent> ×${count} (loopback) ` +
          `--parallel ${FLEET_PARALLEL} --json, every agent's root fresh`,
        wholeProcess: got[`fleet-${b.key}`],
        floorLabel: `bin/nx pkg install ${b.key}.nxb --transport <one of them> --json`,
        floor: got[`one-${b.key}`],
        target: b.key === "big"
          ? { kind: "max_ratio", max: 3, appliesTo: "whole-process" }
          : undefined,
        notes: [
          cpuText(b.key),
          ...(b.key === "big" ? [] : ["no target: the issue's target is held by big's row"]),
        ],
      }));
    }
    const sum = (xs: number[]) => xs.reduce((n, x) => n + x, 0);
    outcomes.push(metric({
      suite: s.suite,
      name: `agent memory: peak RSS after the fleet installs vs idle (${count} agents)`,
      unit: "MiB",
      nxLabel: "each agent's VmHWM after every fleet sample (one value per agent)",
      wholeProcess: peaks.map((m) => m.peak),
      floorLabel: "each agent's VmRSS once ready, before any call",
      floor: idle.map((m) => m.rss),
      notes: [
        `${count} agents: ${sum(idle.map((m) => m.rss)).toFixed(0)} MiB resident idle, ` +
        `${sum(peaks.map((m) => m.rss)).toFixed(0)} MiB after, peaks summing to ` +
        `${sum(peaks.map((m) => m.peak)).toFixed(0)} MiB`,
        `MemAvailable: ${memBefore.toFixed(0)} MiB before the agents, ${memStarted.toFixed(0)} ` +
        `MiB once started (${startSeconds.toFixed(1)} s to start them, 4 at a time), ` +
        `${memAfter.toFixed(0)} MiB after the samples`,
      ],
    }));
    return outcomes;
  } finally {
    await stopAll(agents);
  }
}
