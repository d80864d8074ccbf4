/**
 * Agent suite, upgrade-bytes row: every byte the host sends on the wire (a counting relay between
 * `bin/nx pkg upgrade big-1.0.1.nxb --transport …` and the agent) for an upgrade from big 1.0.0
 * to a 1.0.1 that changes one 4 KiB asset, against that asset plus the 1.0.1 bundle's
 * manifest.nxb and meta/ files (what an upgrade that changes one file must send: the signed
 * index and its signature change with any file). Target: ≤ 2×.
 *
 * big-1.0.1 is repacked here from the big source the run uses (fixtures' big-1.0.0, or --quick's
 * smaller one): the same files, version 1.0.1, one asset rewritten with other bytes of the same
 * size, packed and signed with the dev key by `nx pkg pack`. Before each sample the agent's root
 * is reset and big 1.0.0 installed on it (in process, untimed).
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { filler } from "../../fixtures/catalog.ts";
import {
  describeBundle,
  recordingContext,
  remotePkgr,
  session,
  timedUpload,
} from "./_agent_client.ts";
import type { AgentSetup } from "./_agent_install.ts";
import { hostCmd, resetRoot } from "./_agent_proc.ts";
import { CountingRelay, type WireBytes } from "./_agent_relay.ts";
import { firstCalls, metric, type Outcome, runProcess, sample } from "./_measure.ts";
import { DEV_KEY, expectOkEnvelope, listFiles, nxOk } from "./_nx.ts";

const MIB = 1024 * 1024;

export interface Variant {
  bundle: string;
  /** The rewritten asset (bundle-relative) and its size. */
  changed: string;
  changedSize: number;
}

/** The asset the upgrade rewrites: the last one (not 000.bin, which the manifest names). */
export async function changedAsset(src: string): Promise<{ path: string; size: number }> {
  const assets = (await listFiles(src)).filter((f) => f.startsWith("assets/"));
  const path = assets[assets.length - 1];
  return { path, size: (await Deno.stat(join(src, path))).size };
}

/** Packs big-1.0.1 from `src` (see the module comment) into `dir`; also the QEMU suite's. */
export async function packUpgrade(src: string, dir: string): Promise<Variant> {
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

/** Sizes of the files an upgrade changing `changed` must send: it, manifest.nxb and meta/. */
export async function mustSend(variant: Variant): Promise<{ files: string[]; bytes: number }> {
  const files = (await listFiles(variant.bundle)).filter((f) =>
    f === variant.changed || f === "manifest.nxb" || f.startsWith("meta/")
  );
  let bytes = 0;
  for (const f of files) bytes += (await Deno.stat(join(variant.bundle, f))).size;
  return { files, bytes };
}

export async function upgradeRows(s: AgentSetup): Promise<Outcome[]> {
  const { ctx, agent, identity, host, template } = s;
  const variant = await packUpgrade(ctx.big.src, ctx.scratch);
  const floor = await mustSend(variant);
  const installOld = async () => {
    await resetRoot(template, agent.root);
    const connection = await session(agent, identity);
    try {
      const { ctx: call } = recordingContext();
      await remotePkgr(connection).install(
        { bundle: { kind: "path", path: ctx.big.bundle } },
        call,
      );
    } finally {
      await connection.close();
    }
  };
  // What the agent asks for, by name (untimed, once): offer 1.0.1 after 1.0.0 is installed.
  await installOld();
  const asked = await timedUpload(
    agent,
    identity,
    variant.bundle,
    await describeBundle(variant.bundle),
  );

  const relay = new CountingRelay(agent.port);
  const upgrade = hostCmd(host, [
    "pkg",
    "upgrade",
    variant.bundle,
    "--transport",
    relay.target,
    "--json",
  ]);
  const firstTime = firstCalls();
  const wire: WireBytes[] = [];
  try {
    ctx.log(`agent: bytes on the wire for an upgrade changing ${variant.changed}`);
    const got = await sample(ctx.plan, {
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
    const sent = wire.slice(ctx.plan.warmup).map((w) => w.sent).sort((a, b) => a - b);
    const back = wire.slice(ctx.plan.warmup).map((w) => w.received).sort((a, b) => a - b);
    const mid = Math.floor(sent.length / 2);
    return [
      metric({
        suite: s.suite,
        name:
          `bytes sent for an upgrade changing one ${variant.changedSize} B file (1.0.0 → 1.0.1)`,
        unit: "MiB",
        nxLabel: "host → agent bytes on the wire (counting TCP relay) of bin/nx pkg upgrade " +
          "big-1.0.1.nxb --transport … --json, big 1.0.0 installed on the agent's fresh root",
        wholeProcess: got.upgrade,
        floorLabel: `the changed ${variant.changed} + manifest.nxb + meta/ of big-1.0.1 ` +
          `(${floor.files.length} files)`,
        floor: got.upgrade.map(() => floor.bytes / MIB),
        target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
        notes: [
          `in bytes: ${sent[mid]} sent (median), ${
            back[mid]
          } received; the floor ${floor.bytes}: ` +
          floor.files.map((f) => f).join(", "),
          `the agent asked for ${asked.needed.length} files, ${asked.bytes} bytes: ` +
          asked.needed.join(", "),
          "the rest is protocol: handshake, the offer (every file's path, size and SHA-256), " +
          "frame headers and MACs, the call and its request",
        ],
      }),
    ];
  } finally {
    await relay.close();
  }
}
