/**
 * QEMU suite, install rows, for each transport (virtio-serial through the guest's bridge, and
 * user-networking TCP), interleaved in one sampling loop:
 *
 * - install: in process, connect() + remotePkgr().install() of big to the guest's long-running
 *   agent, from the connect to the result (upload, the agent's verify and its durable install on
 *   the guest's ext4 disk); the upload must send every byte (checked each sample); then, untimed,
 *   `uninstall --purge`, so the next install is a real one again;
 * - upload: the protocol's upload phase alone, `offer` → `stored` (_qemu_client.ts);
 * - raw: the same bytes with no protocol over the same channel to the guest's sink (_qemu_raw.ts);
 * - rawHash: the same, the sink taking one SHA-256 of every byte (the guest's hashing speed).
 *
 * Targets: install throughput ≥ 0.7 of raw, per transport, held as time ≤ 1 / 0.7 = 1.43× raw.
 * The upload rows are info: what the protocol alone costs over the channel, against the raw
 * copy and against the raw copy that the guest hashes.
 *
 * Why the purge is enough: the agent's content store (core/agent/content_store.ts) offers the
 * files of the installed versions the registry lists and of its recent uploads; an install
 * adopts its upload's tree (nothing kept as recent), an upload no call used is removed when its
 * connection closes, and `uninstall --purge` leaves no version of big in the registry. So the
 * agent holds nothing of big before each install — which the sample checks from the bytes its
 * upload sent — without a reboot (~25 s) per sample, and the agent stays warm, as in use.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { KeyPair } from "../../core/trust/mod.ts";
import { describeBundle } from "../../core/transport/mod.ts";
import type { recordingContext } from "./_agent_client.ts";
import { installOn, onGuest, purge, QUIET, timedUpload } from "./_qemu_client.ts";
import { type BenchGuest, TRANSPORTS, type Via } from "./_qemu_guest.ts";
import type { GuestSink } from "./_qemu_raw.ts";
import { firstCalls, median, metric, type Outcome, type Plan, sample } from "./_measure.ts";
import { mib } from "./_nx.ts";

export const THROUGHPUT_TARGET = 0.7;
export const TIME_MAX = Math.round(100 / THROUGHPUT_TARGET) / 100;

/** The upload rows: against the raw copy, and against the raw copy the guest hashes. */
export const uploadRowNames = (via: Via) => [
  `upload big (offer → stored) over ${via} vs a raw copy over the same channel`,
  `upload big (offer → stored) over ${via} vs a raw copy the guest hashes`,
];

export const installRowName = (via: Via, bytes: number) =>
  `install big (${mib(bytes)}) over ${via} vs a raw copy over the same channel`;

export const VIA_NAME: Record<Via, string> = {
  serial: "virtio-serial (nc bridge)",
  tcp: "hostfwd TCP",
};

/** What the install rows need from the suite. */
export interface QemuSetup {
  suite: string;
  plan: Plan;
  log(line: string): void;
  guest: BenchGuest;
  sink: GuestSink;
  identity: KeyPair;
  bundle: string;
  /** The bundle's files (relative, sorted) and their bytes. */
  files: string[];
  bytes: number;
}

/** The marker the agent's verify reports once the upload verified (core/pkgr verify.ts). */
const VERIFIED = "pkgr: verified ok";

type Events = ReturnType<typeof recordingContext>["events"];

/** Where one install's time went, from its events (ms). */
function splitOf(run: { start: number; connected: number; end: number; events: Events }) {
  const uploads = run.events.filter((e) =>
    e.event.kind === "progress" && e.event.phase === "upload"
  );
  const firstData = uploads[0]?.at ?? run.connected;
  const lastData = uploads.at(-1)?.at ?? firstData;
  const verified = run.events.find((e) => e.event.kind === "marker" && e.event.text === VERIFIED);
  if (!verified) throw new Error("cannot split the install: no verified marker");
  return {
    "connect": run.connected - run.start,
    "describe+offer+need": firstData - run.connected,
    "DATA frames": lastData - firstData,
    "stored+call+verify": verified.at - lastData,
    "install": run.end - verified.at,
  };
}

const busy = (ratios: number[]) => median(ratios).toFixed(2);
const speed = (bytes: number, ms: number) => `${(bytes / 1e6 / (ms / 1000)).toFixed(1)} MB/s`;

async function expectInstalled(s: QemuSetup, via: Via): Promise<void> {
  await onGuest(s.guest, via, s.identity, async (pkgr) => {
    const info = await pkgr.info({ app: "big", files: true }, QUIET);
    const files = (info.files ?? []).map((f) => f.path).sort();
    if (files.join("\n") !== s.files.join("\n")) {
      throw new Error(`cannot measure: the guest lists ${files.length} files of big`);
    }
  });
}

export async function installRows(s: QemuSetup): Promise<Outcome[]> {
  const offered = await describeBundle(s.bundle);
  const sizes = offered.map((f) => ({ path: f.path, size: f.size }));
  const firstTime = firstCalls();
  // What the hashing sink must answer: the SHA-256 of the files' bytes back to back.
  const whole = createHash("sha256");
  for (const f of sizes) whole.update(await Deno.readFile(join(s.bundle, f.path)));
  const digest = whole.digest("hex");
  const splits: Record<Via, Record<string, number>[]> = { serial: [], tcp: [] };
  const sides: Record<string, () => Promise<number>> = {};
  /** QEMU's CPU time per sample over its wall time (1 = one host core busy throughout). */
  const cpu: Record<string, number[]> = Object.fromEntries(
    TRANSPORTS.flatMap((via) => [[`install-${via}`, []], [`raw-${via}`, []]]),
  );
  for (const via of TRANSPORTS) {
    sides[`install-${via}`] = async () => {
      const cpuBefore = await s.guest.cpuMs();
      const run = await installOn(s.guest, via, s.identity, s.bundle);
      cpu[`install-${via}`].push((await s.guest.cpuMs() - cpuBefore) / (run.end - run.start));
      if (run.bytes !== s.bytes) {
        throw new Error(
          `cannot measure: the install over ${via} sent ${run.bytes} of ${s.bytes} B`,
        );
      }
      if (firstTime(`install-${via}`)) await expectInstalled(s, via);
      splits[via].push(splitOf(run));
      await purge(s.guest, via, s.identity, "big");
      return run.end - run.start;
    };
    sides[`upload-${via}`] = async () => {
      const run = await timedUpload(s.guest, via, s.identity, s.bundle, offered);
      if (run.bytes !== s.bytes) {
        throw new Error(`cannot measure: an upload over ${via} sent ${run.bytes} of ${s.bytes} B`);
      }
      return run.ms;
    };
    sides[`rawHash-${via}`] = async () => {
      const run = await s.sink.copy(via, s.bundle, sizes, true);
      if (run.bytes !== s.bytes || run.sha256 !== digest) {
        throw new Error(
          `cannot use the hashed raw ${via} copy: the sink got ${JSON.stringify(run)}`,
        );
      }
      return run.ms;
    };
    sides[`raw-${via}`] = async () => {
      const cpuBefore = await s.guest.cpuMs();
      const run = await s.sink.copy(via, s.bundle, sizes);
      cpu[`raw-${via}`].push((await s.guest.cpuMs() - cpuBefore) / run.ms);
      // serial reaches the sink through the guest's bridge (loopback), tcp through slirp
      const fromBridge = run.from === "127.0.0.1";
      if (run.bytes !== s.bytes || fromBridge !== (via === "serial")) {
        throw new Error(`cannot use the raw ${via} copy: the sink got ${JSON.stringify(run)}`);
      }
      return run.ms;
    };
  }
  await purge(s.guest, "tcp", s.identity, "big");
  s.log(`qemu: install, upload, raw and hashed raw copies of ${mib(s.bytes)} over serial and tcp`);
  const got = await sample(s.plan, sides);

  const outcomes: Outcome[] = [];
  for (const via of TRANSPORTS) {
    const raw = got[`raw-${via}`];
    const kept = splits[via].slice(s.plan.warmup);
    const split = Object.keys(kept[0]).map((k) =>
      `${k} ${median(kept.map((p) => p[k])).toFixed(0)}`
    )
      .join(", ");
    const speeds = `install ${speed(s.bytes, median(got[`install-${via}`]))}, upload ${
      speed(s.bytes, median(got[`upload-${via}`]))
    }, raw ${speed(s.bytes, median(raw))} (medians)`;
    const rawLabel = `the same ${s.bytes} B raw over ${VIA_NAME[via]} to the guest's Deno sink ` +
      "(qemu/guest/init nx.bench=1): header → its byte count, 256 KiB writes, no framing, MAC " +
      "or hashing" + (via === "serial" ? "; QEMU's chardev socket → nc → loopback TCP" : "");
    outcomes.push(
      metric({
        suite: s.suite,
        name: installRowName(via, s.bytes),
        unit: "ms",
        nxLabel: `in process: connect() + remotePkgr().install() of big to the guest's agent ` +
          `over ${VIA_NAME[via]}, connect → result (upload, verify and durable install in the ` +
          "guest); uninstall --purge after each (untimed)",
        inProcess: got[`install-${via}`],
        floorLabel: rawLabel,
        floor: raw,
        target: { kind: "max_ratio", max: TIME_MAX, appliesTo: "in-process" },
        notes: [
          `target: throughput ≥ ${THROUGHPUT_TARGET}× raw ⟺ time ≤ ${TIME_MAX}× raw`,
          speeds,
          `where an install's time goes (ms, medians): ${split}`,
          `QEMU's CPU time over wall time (medians; 1.0 = one host core): install ${
            busy(cpu[`install-${via}`].slice(s.plan.warmup))
          }, raw ${
            busy(cpu[`raw-${via}`].slice(s.plan.warmup))
          } (its vCPU under TCG, the I/O thread, slirp)`,
          `every install sent all ${s.bytes} bytes (checked each sample: nothing of big left ` +
          "on the agent after uninstall --purge)",
        ],
      }),
      metric({
        suite: s.suite,
        name: uploadRowNames(via)[0],
        unit: "ms",
        nxLabel: "in process: offer → need → sendFiles() DATA frames → stored, a fresh upload " +
          "of every file (connect, handshake and describeBundle untimed)",
        inProcess: got[`upload-${via}`],
        floorLabel: rawLabel,
        floor: raw,
        notes: ["no target: the protocol alone over the channel, without the guest's install"],
      }),
      metric({
        suite: s.suite,
        name: uploadRowNames(via)[1],
        unit: "ms",
        nxLabel: "the same upload: the agent checks every DATA frame's HMAC-SHA-256 and hashes " +
          "every file (SHA-256) as it writes it",
        inProcess: got[`upload-${via}`],
        floorLabel: `${rawLabel}; the sink takes one SHA-256 of every byte before it answers`,
        floor: got[`rawHash-${via}`],
        notes: [
          `no target: what the guest's CPU (TCG) makes of one hash pass: raw + SHA-256 ${
            speed(s.bytes, median(got[`rawHash-${via}`]))
          } (median)`,
        ],
      }),
    );
  }
  return outcomes;
}
