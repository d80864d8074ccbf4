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
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { filler } from "../../fixtures/catalog.ts";
import { describeBundle } from "../../core/transport/mod.ts";
import { CountingRelay, type WireBytes } from "./_agent_relay.ts";
import { installOn, purge, timedUpload } from "./_qemu_client.ts";
import { qemuCmd, type QemuHost } from "./_qemu_guest.ts";
import type { QemuSetup } from "./_qemu_install.ts";
import { firstCalls, median, metric, type Outcome, runProcess, sample } from "./_measure.ts";
import { DEV_KEY, expectOkEnvelope, listFiles, nxOk } from "./_nx.ts";

const MIB = 1024 * 1024;

interface Variant {
  bundle: string;
  /** The rewritten asset (bundle-relative) and its size. */
  changed: string;
  changedSize: number;
}

export const upgradeRowName = (changedSize: number) =>
  `bytes sent for an upgrade changing one ${changedSize} B file (1.0.0 → 1.0.1) to the guest`;

/** The asset the upgrade rewrites: the last one (not 000.bin, which the manifest names). */
export async function changedAsset(src: string): Promise<{ path: string; size: number }> {
  const assets = (await listFiles(src)).filter((f) => f.startsWith("assets/"));
  const path = assets[assets.length - 1];
  return { path, size: (await Deno.stat(join(src, path))).size };
}

/**
 * big-1.0.1 from `src`: version 1.0.1, the last asset rewritten with other bytes of the same size
 * ({@link changedAsset}), packed with the dev key — the same
 * variant as _agent_upgrade.ts packs.
 */
async function packUpgrade(src: string, dir: string): Promise<Variant> {
  const copy = join(dir, "src-big-1.0.1");
  await cp(src, copy, { recursive: true });
  const manifest = join(copy, "manifest.toml");
  const toml = await Deno.readTextFile(manifest);
  await Deno.writeTextFile(manifest, toml.replace(/^version = ".*"$/m, 'version = "1.0.1"'));
  const changed = (await changedAsset(copy)).path;
  const before = await Deno.readFile(join(copy, changed));
  const after = filler(`big-1.0.1 ${changed}`, before.length, false);
  if (after.every((b, i) => b === before[i])) throw new Error(`cannot change ${changed}`);
  await Deno.chmod(join(copy, changed), 0o644);
  await Deno.writeFile(join(copy, changed), after);
  const bundle = join(dir, "big-1.0.1.nxb");
  await nxOk(["pkg", "pack", copy, "--key", DEV_KEY, "--out", bundle, "--force"]);
  await Deno.remove(copy, { recursive: true });
  return { bundle, changed, changedSize: after.length };
}

export async function upgradeRows(
  s: QemuSetup,
  host: QemuHost,
  src: string,
  scratch: string,
): Promise<Outcome[]> {
  const variant = await packUpgrade(src, scratch);
  const floorFiles = (await listFiles(variant.bundle)).filter((f) =>
    f === variant.changed || f === "manifest.nxb" || f.startsWith("meta/")
  );
  let floorBytes = 0;
  for (const f of floorFiles) floorBytes += (await Deno.stat(join(variant.bundle, f))).size;
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
