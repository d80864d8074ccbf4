/**
 * QEMU suite, latency rows, per transport: one in-process session to the guest's agent, then
 * batches of `list` calls (remotePkgr().list(): a call frame, the agent's list of its root, the
 * result checked against the schema) against batches of bare pings (Session.ping()) on the same
 * session, interleaved batch by batch, as _agent_latency.ts does on loopback. Each batch gives
 * its p50 and p95; the rows hold the medians of those. The issue sets no target: info rows.
 */
import type { KeyPair } from "../../core/trust/mod.ts";
import { guestSession, QUIET } from "./_qemu_client.ts";
import { type BenchGuest, TRANSPORTS, type Via } from "./_qemu_guest.ts";
import { VIA_NAME } from "./_qemu_install.ts";
import { metric, type Outcome, type Plan, sample } from "./_measure.ts";

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const latencyRowName = (via: Via, p: string) =>
  `list round trip ${p} over ${via} vs a bare ping`;

export interface LatencySetup {
  suite: string;
  plan: Plan;
  log(line: string): void;
  guest: BenchGuest;
  identity: KeyPair;
  /** Calls per batch. */
  calls: number;
  /** The apps the guest lists (ids, comma-separated). */
  apps: string;
}

async function rowsOver(s: LatencySetup, via: Via): Promise<Outcome[]> {
  const { session, pkgr, close } = await guestSession(s.guest, via, s.identity);
  try {
    const listed = await pkgr.list({}, QUIET);
    if (listed.map((a) => a.id).join() !== s.apps) {
      throw new Error(`cannot time list over ${via}: the guest lists ${JSON.stringify(listed)}`);
    }
    const p95: Record<"list" | "ping", number[]> = { list: [], ping: [] };
    const batch = (key: "list" | "ping", once: () => Promise<unknown>) => async () => {
      const times: number[] = [];
      for (let i = 0; i < s.calls; i++) {
        const start = performance.now();
        await once();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      p95[key].push(percentile(times, 95));
      return percentile(times, 50);
    };
    s.log(`qemu: ${s.calls} list calls vs ${s.calls} pings per batch over ${via}, one session`);
    const p50 = await sample(s.plan, {
      list: batch("list", () => pkgr.list({}, QUIET)),
      ping: batch("ping", () => session.ping()),
    });
    const kept = (xs: number[]) => xs.slice(s.plan.warmup);
    const nxLabel = (p: string) =>
      `${p} of ${s.calls} remotePkgr().list() calls in a row on one session over ` +
      `${VIA_NAME[via]} (guest root: ${s.apps})`;
    const floorLabel = (p: string) => `${p} of ${s.calls} Session.ping() round trips, same session`;
    return [
      metric({
        suite: s.suite,
        name: latencyRowName(via, "p50"),
        unit: "ms",
        nxLabel: nxLabel("p50"),
        inProcess: p50.list,
        floorLabel: floorLabel("p50"),
        floor: p50.ping,
        notes: ["no target in the issue: the ratio is what a call costs over a frame round trip"],
      }),
      metric({
        suite: s.suite,
        name: latencyRowName(via, "p95"),
        unit: "ms",
        nxLabel: nxLabel("p95"),
        inProcess: kept(p95.list),
        floorLabel: floorLabel("p95"),
        floor: kept(p95.ping),
      }),
    ];
  } finally {
    await close();
  }
}

export async function latencyRows(s: LatencySetup): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const via of TRANSPORTS) outcomes.push(...await rowsOver(s, via));
  return outcomes;
}
