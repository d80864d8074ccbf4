/**
 * `nx agent` and `--transport` (issue 9), on loopback TCP, against local runs and raw floors of
 * the same run:
 *
 * 1. install of big through a long-running agent vs the same install locally (≤ 1.25×), with an
 *    in-process split of the remote install (_agent_install.ts);
 * 2. the protocol's upload throughput vs a raw copy of the same bytes (≥ 0.7 of raw,
 *    _agent_throughput.ts);
 * 3. bytes on the wire for an upgrade that changes one 4 KiB file (≤ 2× that file + manifest +
 *    meta, _agent_upgrade.ts);
 * 4. `list` round trip p50/p95 vs a bare ping (no target, _agent_latency.ts);
 * 5. install to a fleet of 50 agents with --parallel 8 vs to one (≤ 3×), and the agents' memory
 *    (_agent_fleet.ts).
 *
 * Agents are `bin/nx agent` subprocesses on 127.0.0.1 port 0, each on its own root, reset between
 * samples while idle (_agent_proc.ts). Every host run is `bin/nx … --identity KEY` with its own
 * XDG_CONFIG_HOME in the scratch directory.
 */
import { join } from "node:path";
import { loadIdentity } from "./_agent_client.ts";
import { fleetRows } from "./_agent_fleet.ts";
import { type AgentSetup, installRows } from "./_agent_install.ts";
import { latencyRows } from "./_agent_latency.ts";
import { AgentProcess, expectNoLocalRoot, hostSide, resetRoot } from "./_agent_proc.ts";
import { throughputRows } from "./_agent_throughput.ts";
import { upgradeRows } from "./_agent_upgrade.ts";
import type { Outcome, Suite } from "./_measure.ts";
import { listFiles, totalBytes, trustedRoot } from "./_nx.ts";

const SUITE = "agent";

export const agentSuite: Suite = {
  name: SUITE,
  summary: "nx agent over loopback TCP: install vs local, upload vs raw TCP, upgrade bytes, " +
    "list vs ping, a fleet of 50",
  async run(ctx) {
    const host = await hostSide(ctx.scratch);
    const template = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    const files = await listFiles(ctx.big.bundle);
    const root = join(ctx.scratch, "agent-root");
    await resetRoot(template, root);
    const agent = await AgentProcess.start(root, host);
    const setup: AgentSetup = {
      ctx,
      suite: SUITE,
      host,
      identity: await loadIdentity(host),
      template,
      agent,
      files,
      bytes: await totalBytes(ctx.big.bundle, files),
    };
    const outcomes: Outcome[] = [];
    try {
      outcomes.push(...await installRows(setup));
      await resetRoot(template, root);
      outcomes.push(...await throughputRows(setup));
      outcomes.push(...await upgradeRows(setup)); // leaves big 1.0.1 (and 1.0.0) on the agent
      outcomes.push(...await latencyRows(setup, "big"));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(`${message}\nthe agent's last lines:\n${agent.log()}`);
    } finally {
      await agent.stop();
    }
    outcomes.push(...await fleetRows(setup));
    await expectNoLocalRoot(host);
    return outcomes;
  },
};
