/**
 * QEMU suite, upgrade-bytes row: the agent suite's measure (_agent_upgrade.ts) against a guest.
 * Every byte the host sends on the wire — the agent suite's counting relay between
 * `bin/nx pkg upgrade big-1.0.1.nxb --transport …` and the guest's hostfwd port — for an
 * upgrade from big 1.0.0 to a 1.0.1 that changes one 4 KiB asset, against that asset plus the
 * 1.0.1 bundle's manifest.nxb and meta/ files. Target: ≤ 2×, as on loopback.
 *
 * Over tcp only: the serial transport carries the same frames (its stream is the chardev socket,
 * with no framing of its own), so the count is the protocol's, not the channel's. Before each
 * sample big is purged from the guest and 1.0.0 installed (in process, untimed).
 */
import { describeBundle } from "../../core/transport/mod.ts";
import { CountingRelay, type WireBytes } from "./_agent_relay.ts";
import { mustSend, packUpgrade } from "./_agent_upgrade.ts";
import { installOn, purge, timedUpload } from "./_qemu_client.ts";
import { qemuCmd, type QemuHost } from "./_qemu_guest.ts";
import type { QemuSetup } from "./_qemu_install.ts";
import { firstCalls, median, metric, type Outcome, runProcess, sample } from "./_measure.ts";
import { expectOkEnvelope } from "./_nx.ts";

const MIB = 1024 * 1024;

export const upgradeRowName = (changedSize: number) =>
  `bytes sent for an upgrade changing one ${changedSize} B file (1.0.0 → 1.0.1) to the guest`;

export async function upgradeRows(
  s: QemuSetup,
  host: QemuHost,
  src: string,
  scratch: string,
): Promise<Outcome[]> {
  const variant = await packUpgrade(src, scratch);
  const { files: floorFiles, bytes: floorBytes } = await mustSend(variant);
  const installOld = async () => {
    await purge(s.guest, "tcp", s.identity, "big");
    const run = await installOn(s.guest, "tcp", s.identity, s.bundle);
    if (run.bytes !== s.bytes) throw new Error(`cannot install big 1.0.0: sent ${run.bytes} B`);
  };
  // What the agent asks for, by name (untimed, once): offer 1.0.1 after 1.0.0 is installed.
  await installOld();
  const asked = await timedUpload(
    s.guest,
    "tcp",
    s.identity,
    variant.bundle,
    await describeBundle(variant.bundle),
  );

  const relay = new CountingRelay(s.guest.agentPort);
  const upgrade = qemuCmd(host, [
    "pkg",
    "upgrade",
    variant.bundle,
    "--transport",
    relay.target,
    "--timeout",
    "300",
    "--json",
  ]);
  const firstTime = firstCalls();
  const wire: WireBytes[] = [];
  try {
    s.log(`qemu: bytes on the wire for an upgrade changing ${variant.changed} (over tcp)`);
    const got = await sample(s.plan, {
      upgrade: async () => {
        await installOld();
        const run = await runProcess(upgrade);
        const connections = await relay.settle();
        if (connections.length !== 1) {
          throw new Error(`cannot count the upgrade: ${connections.length} connections relayed`);
        }
        if (firstTime("upgrade")) {
          expectOkEnvelope(run.stdout, "nx pkg upgrade --transport");
          const to = JSON.parse(run.stdout).data.toVersion;
          if (to !== "1.0.1") throw new Error(`cannot measure: the upgrade went to ${to}`);
        }
        wire.push(connections[0]);
        return connections[0].sent / MIB;
      },
    });
    const kept = wire.slice(s.plan.warmup);
    return [
      metric({
        suite: s.suite,
        name: upgradeRowName(variant.changedSize),
        unit: "MiB",
        nxLabel: "host → guest bytes on the wire (counting TCP relay to the hostfwd port) of " +
          "bin/nx pkg upgrade big-1.0.1.nxb --transport … --json, big 1.0.0 installed",
        wholeProcess: got.upgrade,
        floorLabel: `the changed ${variant.changed} + manifest.nxb + meta/ of big-1.0.1 ` +
          `(${floorFiles.length} files)`,
        floor: got.upgrade.map(() => floorBytes / MIB),
        target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
        notes: [
          `in bytes: ${median(kept.map((w) => w.sent))} sent (median), ${
            median(kept.map((w) => w.received))
          } received; the floor ${floorBytes}: ${floorFiles.join(", ")}`,
          `the guest's agent asked for ${asked.needed.length} files, ${asked.bytes} bytes: ` +
          asked.needed.join(", "),
        ],
      }),
    ];
  } finally {
    await relay.close();
  }
}
