/**
 * A real QEMU guest running `nx agent` (issue 10's benchmark), TCG, driven from this host:
 *
 * 1. boot of a fresh guest to `pkgr: ready` (the image built first, untimed) vs the kernel's own
 *    boot to init (info);
 * 2. install of big over virtio-serial and over hostfwd TCP vs a raw copy of the same bytes over
 *    the same channel to a sink in the guest (throughput ≥ 0.7 of raw, _qemu_install.ts);
 * 3. bytes on the wire for an upgrade that changes one file (≤ 2×, _qemu_upgrade.ts);
 * 4. `list` round trip p50/p95 over each transport vs a bare ping (info, _qemu_latency.ts).
 *
 * The boots sampled are plain `nx qemu up --fresh` (with --quick: none; the bench guest's boot
 * stands in). The rows 2–4 share one more guest booted with `nx.bench=1` (its raw sink). Guests
 * belong to a host of the suite's own (_qemu_guest.ts) and the suite holds the QEMU tests' turn
 * (tests/_qemu.ts guestTurn) for as long as a guest runs or the image is built. Without
 * qemu-system-x86_64, or a tool the image build needs, every row is "not measured".
 */
import { loadSecretKey } from "../../core/pkgr/keys.ts";
import {
  BenchGuest,
  benchHost,
  type BootStamps,
  qemuCmd,
  type QemuHost,
  TRANSPORTS,
} from "./_qemu_guest.ts";
import {
  installRowName,
  installRows,
  type QemuSetup,
  TIME_MAX,
  uploadRowNames,
} from "./_qemu_install.ts";
import { latencyRowName, latencyRows } from "./_qemu_latency.ts";
import { GuestSink } from "./_qemu_raw.ts";
import { changedAsset } from "./_agent_upgrade.ts";
import { upgradeRowName, upgradeRows } from "./_qemu_upgrade.ts";
import { QEMU } from "../../core/qemu/mod.ts";
import {
  canRun,
  median,
  metric,
  type Outcome,
  type Plan,
  sample,
  skipped,
  type Suite,
  type SuiteContext,
} from "./_measure.ts";
import { listFiles, totalBytes } from "./_nx.ts";

const SUITE = "qemu";
const BOOT_ROW = "boot a fresh guest to pkgr: ready vs the kernel's boot to init";
/** A TCG boot or install takes seconds: at most 5 samples (as the doctor suite keeps). */
const MAX_RUNS = 5;

/** Every row the suite reports, as "not measured" (with the targets it would be held to). */
async function notMeasured(reason: string, big: SuiteContext["big"], bytes: number) {
  const changed = await changedAsset(big.src);
  return [
    skipped(SUITE, BOOT_ROW, reason),
    ...TRANSPORTS.flatMap((via) => [
      skipped(SUITE, installRowName(via, bytes), reason, {
        target: { kind: "max_ratio", max: TIME_MAX, appliesTo: "in-process" },
        unit: "ms",
      }),
      ...uploadRowNames(via).map((name) => skipped(SUITE, name, reason)),
    ]),
    skipped(SUITE, upgradeRowName(changed.size), reason, {
      target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
      unit: "MiB",
    }),
    ...TRANSPORTS.flatMap((via) =>
      ["p50", "p95"].map((p) => skipped(SUITE, latencyRowName(via, p), reason))
    ),
  ];
}

/** `nx qemu build` (untimed); undefined once the image is there, else why it cannot be. */
async function build(host: QemuHost, ctx: SuiteContext): Promise<string | undefined> {
  ctx.log("qemu: nx qemu build (untimed; a no-op when the image is up to date)");
  const c = qemuCmd(host, ["qemu", "build", "--json"]);
  const out = await new Deno.Command(c.cmd, {
    args: c.args,
    cwd: c.cwd,
    env: c.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.success) return undefined;
  const envelope = (() => {
    try {
      return JSON.parse(stdout);
    } catch {
      return undefined;
    }
  })();
  if (envelope?.code === "tool.missing") {
    return `the guest image cannot be built: ${envelope.message}`;
  }
  throw new Error(`cannot build the guest image: exit ${out.code}\n${stdout}`);
}

/** Plain fresh boots, each powered off after; the boot row. */
async function bootRow(
  ctx: SuiteContext,
  host: QemuHost,
  plan: Plan,
  bench: BenchGuest,
): Promise<Outcome> {
  const stamps: BootStamps[] = [];
  const upMs: number[] = [];
  let boot: Record<"boot", number[]> = { boot: [bench.bootMs] };
  if (ctx.quick) {
    stamps.push(await bench.bootStamps());
    upMs.push(bench.upMs);
  } else {
    ctx.log(`qemu: ${plan.warmup + plan.runs} fresh boots to pkgr: ready`);
    boot = await sample(plan, {
      boot: async () => {
        const guest = await BenchGuest.boot(host, "bench-boot", false);
        try {
          stamps.push(await guest.bootStamps());
          upMs.push(guest.upMs);
          return guest.bootMs;
        } finally {
          await guest.down();
        }
      },
    }, (done, total) => ctx.log(`qemu: boot ${done}/${total}`));
  }
  const kept = stamps.slice(ctx.quick ? 0 : plan.warmup);
  const toAgent = median(kept.map((s) => s.startingAgent - s.init));
  const agentStart = median(boot.boot.map((ms, i) => ms - kept[i].startingAgent));
  return metric({
    suite: SUITE,
    name: BOOT_ROW,
    unit: "ms",
    nxLabel: "nx qemu up --fresh (TCG, 1 vCPU, 512 MiB): QEMU's start → `pkgr: ready` on the " +
      "console (its bootSeconds), a state disk copied from the image's warm template",
    wholeProcess: boot.boot,
    floorLabel: "the guest's uptime on init's first console line (`nx-init: [t] image …`): the " +
      "kernel's boot and its module-less start",
    floor: kept.map((s) => s.init),
    notes: [
      `medians: init → \`starting agent\` ${toAgent.toFixed(0)} ms (modules, disks, ` +
      `network); \`starting agent\` → pkgr: ready ≈ ${agentStart.toFixed(0)} ms (the ` +
      "agent's start, trusting the --trust keys; the guest's uptime against the host's clock)",
      `the whole nx qemu up process: ${median(upMs.slice(-boot.boot.length)).toFixed(0)} ms ` +
      "(median: the image check, the boot, a ping over each transport)",
      ...(ctx.quick ? ["--quick: the bench guest's own boot (nx.bench=1), no plain boot"] : []),
    ],
  });
}

export const qemuSuite: Suite = {
  name: SUITE,
  summary: "a QEMU guest's nx agent (TCG): boot to pkgr: ready, install vs a raw copy over " +
    "virtio-serial and hostfwd TCP, upgrade bytes, list p50/p95",
  async run(ctx) {
    const files = await listFiles(ctx.big.bundle);
    const bytes = await totalBytes(ctx.big.bundle, files);
    if (!await canRun(QEMU)) {
      const why = "qemu-system-x86_64 is not installed (Debian: qemu-system-x86)";
      return await notMeasured(why, ctx.big, bytes);
    }
    const { guestTurn } = await import("../_qemu.ts"); // see benchHost
    using _turn = await guestTurn();
    const host = await benchHost();
    try {
      const missing = await build(host, ctx);
      if (missing) return await notMeasured(missing, ctx.big, bytes);
      const plan = { runs: Math.min(ctx.plan.runs, MAX_RUNS), warmup: ctx.plan.warmup };
      ctx.log("qemu: booting the bench guest (nx.bench=1: the raw sink)");
      const guest = await BenchGuest.boot(host, "bench", true);
      const outcomes: Outcome[] = [];
      try {
        await guest.waitConsole("bench: raw sink on tcp 7421");
        await guest.bridgeDone(0); // the serial ping of nx qemu up
        const sink = new GuestSink(guest, await guest.forwardSink());
        const setup: QemuSetup = {
          suite: SUITE,
          plan,
          log: ctx.log,
          guest,
          sink,
          identity: await loadSecretKey(host.identity),
          bundle: ctx.big.bundle,
          files,
          bytes,
        };
        outcomes.push(...await installRows(setup));
        // The byte count hardly moves between samples (frame boundaries): 3 are enough.
        const upgradePlan = { runs: Math.min(plan.runs, 3), warmup: 0 };
        outcomes.push(
          ...await upgradeRows({ ...setup, plan: upgradePlan }, host, ctx.big.src, ctx.scratch),
        );
        outcomes.push(
          ...await latencyRows({ ...setup, calls: ctx.quick ? 10 : 50, apps: "big" }),
        );
      } catch (e) {
        const tail = (await guest.console().catch(() => "")).split("\n").slice(-30).join("\n");
        throw new Error(`${e instanceof Error ? e.message : e}\nthe guest's console:\n${tail}`);
      } finally {
        await guest.down();
      }
      // The boots come last: the bench guest's rows do not wait for them.
      // No warmup boot: the bench guest booted the same image just before.
      return [await bootRow(ctx, host, { runs: plan.runs, warmup: 0 }, guest), ...outcomes];
    } finally {
      await Deno.remove(host.dir, { recursive: true }).catch(() => {});
    }
  },
};
