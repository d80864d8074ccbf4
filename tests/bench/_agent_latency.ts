/**
 * Agent suite, latency rows: one in-process session to the long-running agent (connected once),
 * then batches of `list` calls (remotePkgr().list(): a call frame, the agent's local list on its
 * root, the result checked against the schema) against batches of bare pings (Session.ping(): a
 * ping frame and its pong), interleaved batch by batch. Each batch gives its p50 and its p95; the
 * rows hold the medians of those over the runs. The issue sets no target here: info rows.
 */
import { remotePkgr, session } from "./_agent_client.ts";
import type { AgentSetup } from "./_agent_install.ts";
import { metric, type Outcome, sample } from "./_measure.ts";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function latencyRows(s: AgentSetup, apps: string): Promise<Outcome[]> {
  const { ctx, agent, identity } = s;
  const calls = ctx.quick ? 10 : 200;
  const connection = await session(agent, identity);
  const pkgr = remotePkgr(connection);
  const call = { now: new Date(), reporter: { emit() {} } };
  const listed = await pkgr.list({}, call);
  if (listed.map((a) => a.id).join() !== apps) {
    throw new Error(`cannot time list: the agent lists ${JSON.stringify(listed)}`);
  }
  const p95: Record<"list" | "ping", number[]> = { list: [], ping: [] };
  const batch = (key: "list" | "ping", once: () => Promise<unknown>) => async () => {
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const start = performance.now();
      await once();
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    p95[key].push(percentile(times, 95));
    return percentile(times, 50);
  };
  try {
    ctx.log(`agent: ${calls} list calls vs ${calls} pings per batch, one session`);
    const p50 = await sample(ctx.plan, {
      list: batch("list", () => pkgr.list({}, call)),
      ping: batch("ping", () => connection.ping()),
    });
    const kept = (xs: number[]) => xs.slice(ctx.plan.warmup);
    const nxLabel = (p: string) =>
      `${p} of ${calls} remotePkgr().list() calls in a row on one session (agent root: ${apps})`;
    const floorLabel = (p: string) => `${p} of ${calls} Session.ping() round trips, same session`;
    return [
      metric({
        suite: s.suite,
        name: "list round trip p50 over the transport vs a bare ping",
        unit: "ms",
        nxLabel: nxLabel("p50"),
        inProcess: p50.list,
        floorLabel: floorLabel("p50"),
        floor: p50.ping,
        notes: ["no target in the issue: the ratio is what a call costs over a frame round trip"],
      }),
      metric({
        suite: s.suite,
        name: "list round trip p95 over the transport vs a bare ping",
        unit: "ms",
        nxLabel: nxLabel("p95"),
        inProcess: kept(p95.list),
        floorLabel: floorLabel("p95"),
        floor: kept(p95.ping),
      }),
    ];
  } finally {
    await connection.close();
  }
}
