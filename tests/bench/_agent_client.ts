/**
 * The agent suite's in-process host: core/transport's own client, used from the bench process
 * against an `nx agent` subprocess (warm JIT, no CLI start-up).
 *
 * - {@link session}: connect() + the handshake, as the CLI connects (cli/connect.ts), for calls
 *   through remotePkgr() and for ping().
 * - {@link timedUpload}: the upload phase alone, on the protocol's own pieces (openStream,
 *   connectHandshake, the Channel, describeBundle and sendFiles of core/transport/upload_send.ts,
 *   the ones Session uses): the clock runs from sending `offer` to receiving `stored`; connecting
 *   and describing the bundle (hashing it) happen before, untimed. The connection then says bye,
 *   and the agent discards the upload (no call used it); the next sample waits until it is gone.
 */
import { join } from "node:path";
import type { Reporter } from "../../core/api/mod.ts";
import { loadSecretKey } from "../../core/pkgr/keys.ts";
import type { KeyPair } from "../../core/trust/mod.ts";
import {
  type AgentMessage,
  connect,
  connectHandshake,
  describeBundle,
  type OfferedFile,
  openStream,
  parseTarget,
  remotePkgr,
  sendFiles,
  type Session,
} from "../../core/transport/mod.ts";
import type { AgentProcess, HostSide } from "./_agent_proc.ts";

export function loadIdentity(host: HostSide): Promise<KeyPair> {
  return loadSecretKey(host.identity);
}

export function session(agent: AgentProcess, identity: KeyPair): Promise<Session> {
  return connect(parseTarget(agent.target), { identity });
}

/** A call's context whose reporter keeps every event with the time it arrived. */
export function recordingContext() {
  const events: { at: number; event: Parameters<Reporter["emit"]>[0] }[] = [];
  const reporter: Reporter = { emit: (event) => events.push({ at: performance.now(), event }) };
  return { events, ctx: { now: new Date(), reporter } };
}

/** The bytes an upload sent, from the host's `upload` progress events (0: nothing was needed). */
export function uploadedBytes(events: ReturnType<typeof recordingContext>["events"]): number {
  const upload = events.filter((e) => e.event.kind === "progress" && e.event.phase === "upload");
  const last = upload.at(-1)?.event;
  return last?.kind === "progress" ? last.done : 0;
}

export interface UploadRun {
  ms: number;
  /** The offered files the agent asked for (by path). */
  needed: string[];
  bytes: number;
}

/** One upload of `bundle` (described as `files`) on a fresh connection; see the module comment. */
export async function timedUpload(
  agent: AgentProcess,
  identity: KeyPair,
  bundle: string,
  files: OfferedFile[],
): Promise<UploadRun> {
  const stream = await openStream(parseTarget(agent.target), { timeoutMs: 10_000 });
  const channel = await connectHandshake(stream, { identity, target: agent.target });
  let uploadId: string | undefined;
  try {
    const reply = async <T extends AgentMessage["t"]>(want: T) => {
      const got = await channel.receive();
      const msg = got.kind === "control" ? got.msg as AgentMessage : undefined;
      if (msg?.t !== want) {
        throw new Error(`cannot time the upload: got ${JSON.stringify(msg ?? got.kind)}`);
      }
      return msg as Extract<AgentMessage, { t: T }>;
    };
    const start = performance.now();
    await channel.send({ t: "offer", id: 1, files });
    const need = await reply("need");
    await sendFiles(channel, bundle, files, need.files);
    const stored = await reply("stored");
    const ms = performance.now() - start;
    uploadId = stored.upload;
    const bytes = need.files.reduce((n, i) => n + files[i].size, 0);
    return { ms, needed: need.files.map((i) => files[i].path), bytes };
  } finally {
    await channel.send({ t: "bye" }).catch(() => {});
    channel.close();
    if (uploadId) await gone(join(agent.root, "pkg", "uploads", uploadId));
  }
}

/** Waits (polling, untimed) until the agent has removed `dir`; 30 s guard against a hang. */
async function gone(dir: string): Promise<void> {
  for (const start = performance.now(); performance.now() - start < 30_000;) {
    try {
      await Deno.lstat(dir);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      throw e;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`cannot time the next upload: the agent still holds ${dir} after 30 s`);
}

/** What an upload of `bundle` to `agent` would send now: verify through it, count the bytes. */
export async function bytesAnUploadSends(
  agent: AgentProcess,
  identity: KeyPair,
  bundle: string,
): Promise<number> {
  const s = await session(agent, identity);
  try {
    const { events, ctx } = recordingContext();
    await remotePkgr(s).verify({ bundle: { kind: "path", path: bundle } }, ctx);
    return uploadedBytes(events);
  } finally {
    await s.close();
  }
}

export { describeBundle, remotePkgr };
