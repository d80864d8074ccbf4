/**
 * Agent suite, install rows: `bin/nx pkg install big-1.0.0.nxb --transport tcp:… --identity …`
 * (the host: a whole process, as users run it) into a long-running `nx agent` whose root is reset
 * before each sample (_agent_proc.ts says how and why), against the same install on a local fresh
 * root (a whole process, as the install suite times it). Target (whole process): ≤ 1.25×.
 *
 * Then in process, where a remote install's time goes: core/transport's connect() and
 * remotePkgr().install() from the bench process against the same agent, split by the events the
 * call reports (the host's `upload` progress after each DATA frame, the agent's `pkgr: verified
 * ok` marker), each part against the local createPkgr().install() of the same bundle.
 */
import { join } from "node:path";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { rootPaths } from "../../core/store/root.ts";
import type { KeyPair } from "../../core/trust/mod.ts";
import {
  bytesAnUploadSends,
  recordingContext,
  remotePkgr,
  session,
  uploadedBytes,
} from "./_agent_client.ts";
import { type AgentProcess, hostCmd, type HostSide, resetRoot } from "./_agent_proc.ts";
import {
  firstCalls,
  metric,
  type Outcome,
  runProcess,
  sample,
  type SuiteContext,
} from "./_measure.ts";
import { cloneRoot, expectOkEnvelope, listFiles, mib, nxCmd, nxOk } from "./_nx.ts";

export interface AgentSetup {
  ctx: SuiteContext;
  suite: string;
  host: HostSide;
  identity: KeyPair;
  /** A root that trusts only the dev key: what every sample's root is a fresh copy of. */
  template: string;
  /** The long-running agent the rows share. */
  agent: AgentProcess;
  /** big's files (relative, sorted) and their bytes. */
  files: string[];
  bytes: number;
}

/** A size as the rows name it: KiB below one MiB (notes), else MiB. */
export function sizeText(bytes: number): string {
  return bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KiB` : mib(bytes);
}

/** Checks, untimed, that `root` holds big as installed from `bundle`'s files. */
async function expectInstalled(root: string, files: string[], what: string): Promise<void> {
  const listed = await nxOk(["pkg", "list"], root) as { apps: { id: string }[] };
  const current = await listFiles(join(root, "apps", "big", "current"));
  if (listed.apps.map((a) => a.id).join() !== "big" || current.join("\n") !== files.join("\n")) {
    throw new Error(`cannot measure ${what}: the root holds ${JSON.stringify(listed)}`);
  }
}

/** The marker verifyAt() reports once the bundle verified (core/pkgr verify.ts). */
const VERIFIED = "pkgr: verified ok";

/** The parts of one in-process remote install, in the order they happen (ms). */
const PARTS: [string, string][] = [
  ["connect", "connect(): TCP connect + handshake (X25519, Ed25519 signature, HKDF)"],
  [
    "describe+offer+need",
    "describeBundle() on the host (walk + SHA-256 of every file), offer, the agent's content " +
    "store lookup and `need`, up to the first DATA frame written",
  ],
  ["upload", "the DATA frames: first to last written by the host (sendFiles: read + SHA-256)"],
  [
    "stored+call+verify",
    "last DATA frame written → the agent's `pkgr: verified ok` (its first event of the call): " +
    "the agent takes the rest of the bytes and answers `stored`, the host sends `call`, the " +
    "agent opens its session and verifies the upload",
  ],
  ["install on the agent", "`pkgr: verified ok` → the result: staging, journal, registry commit"],
];

export async function installRows(s: AgentSetup): Promise<Outcome[]> {
  const { ctx, agent, host, template } = s;
  const bundle = ctx.big.bundle;
  const remote = hostCmd(host, ["pkg", "install", bundle, "--transport", agent.target, "--json"]);
  let seq = 0;
  const freshDir = async () => {
    const dir = join(ctx.scratch, `local-${seq++}`);
    await Deno.mkdir(dir);
    return dir;
  };
  const firstTime = firstCalls();
  ctx.log(`agent: install through the agent vs locally (${s.files.length} files, ${mib(s.bytes)})`);
  const whole = await sample(ctx.plan, {
    remote: async () => {
      await resetRoot(template, agent.root);
      const run = await runProcess(remote);
      if (firstTime("remote")) {
        expectOkEnvelope(run.stdout, "nx pkg install --transport");
        await expectInstalled(agent.root, s.files, "the install through the agent");
        // After a reset, nothing of big is on the agent: an upload sends every byte.
        await resetRoot(template, agent.root);
        const sent = await bytesAnUploadSends(agent, s.identity, bundle);
        if (sent !== s.bytes) {
          throw new Error(
            `cannot measure: after a reset an upload sent ${sent} of ${s.bytes} bytes`,
          );
        }
      }
      return run.ms;
    },
    local: async () => {
      const dir = await freshDir();
      const root = await cloneRoot(template, join(dir, "root"));
      const run = await runProcess(nxCmd(["pkg", "install", bundle, "--root", root, "--json"]));
      if (firstTime("local")) {
        expectOkEnvelope(run.stdout, "nx pkg install");
        await expectInstalled(root, s.files, "the local install");
      }
      await Deno.remove(dir, { recursive: true });
      return run.ms;
    },
  });

  ctx.log("agent: in process, connect() + remotePkgr().install() vs createPkgr().install()");
  const splits: Record<string, number>[] = [];
  const inProcess = await sample(ctx.plan, {
    remote: async () => {
      await resetRoot(template, agent.root);
      const { events, ctx: call } = recordingContext();
      const start = performance.now();
      const connection = await session(agent, s.identity);
      const connected = performance.now();
      try {
        await remotePkgr(connection).install({ bundle: { kind: "path", path: bundle } }, call);
      } finally {
        await connection.close();
      }
      const end = performance.now();
      if (uploadedBytes(events) !== s.bytes) {
        throw new Error(`cannot split the remote install: it uploaded ${uploadedBytes(events)} B`);
      }
      splits.push(splitOf(events, start, connected, end));
      return end - start;
    },
    local: async () => {
      const dir = await freshDir();
      const root = await cloneRoot(template, join(dir, "root"));
      const start = performance.now();
      await createPkgr({ root: rootPaths(root) }).install(
        { bundle: { kind: "path", path: bundle } },
        { reporter: { emit() {} }, now: new Date() },
      );
      const ms = performance.now() - start;
      await Deno.remove(dir, { recursive: true });
      return ms;
    },
  });
  const kept = splits.slice(ctx.plan.warmup);

  const name = `install big-1.0.0.nxb (${s.files.length} files, ${mib(s.bytes)})`;
  const localIn = "createPkgr().install() on a fresh local root, in process (warm JIT)";
  const outcomes: Outcome[] = [
    metric({
      suite: s.suite,
      name: `${name} through nx agent (loopback TCP) vs the same install locally`,
      unit: "ms",
      nxLabel: "bin/nx pkg install big-1.0.0.nxb --transport tcp:127.0.0.1:PORT --identity KEY " +
        "--json, to one long-running nx agent whose root is a fresh copy per sample (in-process: " +
        "connect() + remotePkgr().install() from core/transport, warm JIT)",
      wholeProcess: whole.remote,
      inProcess: inProcess.remote,
      floorLabel: "bin/nx pkg install big-1.0.0.nxb --root <fresh trusted root> --json",
      floor: whole.local,
      target: { kind: "max_ratio", max: 1.25, appliesTo: "whole-process" },
      notes: [
        "the agent stays up (warm); before each sample its root is removed and copied again " +
        "from the template (untimed, the agent idle): its content store then holds nothing of " +
        "big, checked: an upload after a reset sends all " + `${s.bytes} bytes`,
        "remote = host start-up + connect + hashing the bundle + the upload + the agent's " +
        "install of the upload (which verifies and stages it as a local install does)",
      ],
    }),
    metric({
      suite: s.suite,
      name: `${name}: remote install vs local install (in-process)`,
      unit: "ms",
      nxLabel: "connect() + remotePkgr().install() + close() from the bench process",
      inProcess: inProcess.remote,
      floorLabel: localIn,
      floor: inProcess.local,
    }),
  ];
  for (const [key, label] of PARTS) {
    outcomes.push(metric({
      suite: s.suite,
      name: `remote install split: ${key} (in-process)`,
      unit: "ms",
      nxLabel: label,
      inProcess: kept.map((p) => p[key]),
      floorLabel: localIn,
      floor: inProcess.local,
    }));
  }
  return outcomes;
}

/** The parts of one remote install from its events (see PARTS). */
function splitOf(
  events: ReturnType<typeof recordingContext>["events"],
  start: number,
  connected: number,
  end: number,
): Record<string, number> {
  const isUpload = (e: (typeof events)[number]) =>
    e.event.kind === "progress" && e.event.phase === "upload";
  const uploads = events.filter(isUpload);
  const firstData = uploads[0]?.at ?? connected;
  const lastData = uploads.at(-1)?.at ?? firstData;
  const verified = events.find((e) => e.event.kind === "marker" && e.event.text === VERIFIED)?.at;
  if (verified === undefined) {
    throw new Error("cannot split the remote install: no verified marker");
  }
  return {
    "connect": connected - start,
    "describe+offer+need": firstData - connected,
    "upload": lastData - firstData,
    "stored+call+verify": verified - lastData,
    "install on the agent": end - verified,
  };
}
