/**
 * Agent suite, throughput row: the upload phase of the protocol alone — in process, from `offer`
 * to `stored` of a fresh upload of big to the agent (_agent_client.ts timedUpload: the connection
 * and the host's description of the bundle come first, untimed; the agent holds nothing of big,
 * checked on every sample: it needs every file) — against a raw copy of the same bytes over the
 * same kind of socket (loopback TCP to a Deno subprocess, _agent_raw.ts), timed from its header
 * to the sink's byte count.
 *
 * The target is a throughput: protocol ≥ 0.7 × raw. The table holds times, so the row
 * holds the equivalent: protocol time ≤ 1 / 0.7 = 1.43 × raw time. Info: the same against a raw
 * copy whose sink also writes the files (the work an agent cannot avoid with an upload).
 */
import { join } from "node:path";
import { describeBundle, timedUpload } from "./_agent_client.ts";
import type { AgentSetup } from "./_agent_install.ts";
import { rawCopy, RawSink } from "./_agent_raw.ts";
import { firstCalls, metric, type Outcome, runProcess, sample } from "./_measure.ts";
import { listFiles, mib, sha256sumCmd } from "./_nx.ts";

/** Throughput ≥ 0.7 of raw, as a time ratio (rounded to the table's two decimals). */
export const THROUGHPUT_TARGET = 0.7;
const TIME_MAX = Math.round(100 / THROUGHPUT_TARGET) / 100;

const mibPerS = (bytes: number, ms: number) =>
  `${(bytes / 1048576 / (ms / 1000)).toFixed(0)} MiB/s`;

export async function throughputRows(s: AgentSetup): Promise<Outcome[]> {
  const { ctx, agent, identity } = s;
  const bundle = ctx.big.bundle;
  const offered = await describeBundle(bundle);
  const files = offered.map((f) => ({ path: f.path, size: f.size }));
  const sink = await RawSink.start();
  const firstTime = firstCalls();
  let seq = 0;
  try {
    ctx.log(`agent: upload throughput, ${mib(s.bytes)}: protocol vs a raw TCP sink`);
    const got = await sample(ctx.plan, {
      protocol: async () => {
        const run = await timedUpload(agent, identity, bundle, offered);
        if (run.needed.length !== offered.length || run.bytes !== s.bytes) {
          throw new Error(
            `cannot time the upload: the agent needed ${run.needed.length} of ${offered.length} files`,
          );
        }
        return run.ms;
      },
      raw: async () => {
        const run = await rawCopy(sink.port, bundle, files);
        if (run.bytes !== s.bytes) throw new Error(`the raw sink counted ${run.bytes} bytes`);
        return run.ms;
      },
      rawFiles: async () => {
        const dir = join(ctx.scratch, `raw-${seq++}`);
        const run = await rawCopy(sink.port, bundle, files, dir);
        if (run.bytes !== s.bytes) throw new Error(`the raw sink counted ${run.bytes} bytes`);
        if (firstTime("rawFiles")) {
          const names = await listFiles(dir);
          const sums = await runProcess(sha256sumCmd(dir, names));
          if (sums.stdout !== (await runProcess(sha256sumCmd(bundle, s.files))).stdout) {
            throw new Error("cannot use the raw copy: its files differ from the bundle's");
          }
        }
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
    });
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const speeds = `protocol ${mibPerS(s.bytes, median(got.protocol))}, raw ${
      mibPerS(s.bytes, median(got.raw))
    }, raw into files ${mibPerS(s.bytes, median(got.rawFiles))} (medians)`;
    const nxLabel = "in process: offer → need → sendFiles() DATA frames → stored, a fresh " +
      `upload of all ${offered.length} files to the long-running nx agent (core/transport ` +
      "connectHandshake + Channel + sendFiles; connection and describeBundle untimed)";
    const rawLabel = (what: string) =>
      `the same ${mib(s.bytes)} raw over loopback TCP to a Deno subprocess that ${what} ` +
      "(_agent_sink.ts): header → byte count, 256 KiB writes, no framing, MAC or hashing";
    return [
      metric({
        suite: s.suite,
        name: `upload ${mib(s.bytes)} (protocol, offer → stored) vs a raw TCP sink`,
        unit: "ms",
        nxLabel,
        inProcess: got.protocol,
        floorLabel: rawLabel("drops the bytes"),
        floor: got.raw,
        target: { kind: "max_ratio", max: TIME_MAX, appliesTo: "in-process" },
        notes: [
          `target: throughput ≥ ${THROUGHPUT_TARGET}× raw ⟺ time ≤ ${TIME_MAX}× raw`,
          speeds,
          "the protocol hashes every byte twice (host re-hash while reading, agent while " +
          "writing), MACs every frame on both sides, and the agent writes every file",
        ],
      }),
      metric({
        suite: s.suite,
        name: `upload ${mib(s.bytes)} (protocol) vs a raw copy into files`,
        unit: "ms",
        nxLabel,
        inProcess: got.protocol,
        floorLabel: rawLabel(`writes each of the ${files.length} files below a fresh directory`),
        floor: got.rawFiles,
        notes: ["no target: what is left once the receiver also stores the files"],
      }),
    ];
  } finally {
    await sink.stop();
  }
}
