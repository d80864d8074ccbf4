/**
 * QEMU suite, the in-process host: core/transport's own client from the bench process against a
 * guest's agent over `serial:` or `tcp:` (warm JIT, no CLI start-up), as _agent_client.ts does
 * against a local agent — here by guest and transport, since the agent is a guest's. Every
 * serial session's close waits, untimed, until the guest's bridge let go of it
 * (BenchGuest.bridgeDone says why).
 *
 * The bounds are guards against a hung guest, not targets: TCG on a loaded machine is slow.
 */
import type { CallContext, Pkgr } from "../../core/api/mod.ts";
import type { KeyPair } from "../../core/trust/mod.ts";
import {
  type AgentMessage,
  connect,
  connectHandshake,
  type OfferedFile,
  openStream,
  parseTarget,
  remotePkgr,
  sendFiles,
  type Session,
} from "../../core/transport/mod.ts";
import { recordingContext, uploadedBytes } from "./_agent_client.ts";
import type { BenchGuest, Via } from "./_qemu_guest.ts";

const GUARD = { connectMs: 60_000, handshakeMs: 60_000, requestMs: 300_000 };

/** A call context that drops every event (set-up and checks). */
export const QUIET: CallContext = { now: new Date(), reporter: { emit() {} } };

export interface GuestSession {
  session: Session;
  pkgr: Pkgr;
  /** Says bye; over serial, resolves once the guest's bridge is done with the connection. */
  close(): Promise<void>;
}

/** Runs `close` on a live connection over `via`, then waits for the bridge when serial. */
async function released(guest: BenchGuest, via: Via, close: () => Promise<void> | void) {
  const runs = via === "serial" ? await guest.bridgeRuns() : 0;
  await close();
  if (via === "serial") await guest.bridgeDone(runs);
}

export async function guestSession(
  guest: BenchGuest,
  via: Via,
  identity: KeyPair,
): Promise<GuestSession> {
  const session = await connect(parseTarget(guest.target(via)), { identity, timeouts: GUARD });
  return {
    session,
    pkgr: remotePkgr(session),
    close: () => released(guest, via, () => session.close()),
  };
}

/** Runs `op` on a fresh session, closed after. */
export async function onGuest<T>(
  guest: BenchGuest,
  via: Via,
  identity: KeyPair,
  op: (pkgr: Pkgr, session: Session) => Promise<T>,
): Promise<T> {
  const s = await guestSession(guest, via, identity);
  try {
    return await op(s.pkgr, s.session);
  } finally {
    await s.close();
  }
}

/** Uninstalls `app` with its data when the guest has it (untimed set-up between samples). */
export async function purge(guest: BenchGuest, via: Via, identity: KeyPair, app: string) {
  await onGuest(guest, via, identity, async (pkgr) => {
    const listed = await pkgr.list({}, QUIET);
    if (listed.some((a) => a.id === app)) await pkgr.uninstall({ app, purge: true }, QUIET);
    const left = await pkgr.list({}, QUIET);
    if (left.some((a) => a.id === app)) throw new Error(`cannot uninstall ${app} on the guest`);
  });
}

/**
 * Installs `bundle` in process, timed from the connect to the result (the close after: a bye);
 * the call's events and the bytes its upload sent.
 */
export async function installOn(guest: BenchGuest, via: Via, identity: KeyPair, bundle: string) {
  const { events, ctx } = recordingContext();
  const start = performance.now();
  const s = await guestSession(guest, via, identity);
  const connected = performance.now();
  let end = connected;
  try {
    await s.pkgr.install({ bundle: { kind: "path", path: bundle } }, ctx);
    end = performance.now();
  } finally {
    await s.close();
  }
  return { start, connected, end, events, bytes: uploadedBytes(events) };
}

export interface UploadRun {
  ms: number;
  /** The offered files the agent asked for (by path), and their bytes. */
  needed: string[];
  bytes: number;
}

/**
 * One upload of `bundle` (described as `files`) on a fresh connection, timed from sending
 * `offer` to receiving `stored` (connect, handshake and describing the bundle before, untimed),
 * then `bye`: the agent removes an upload no call used when its connection closes.
 */
export async function timedUpload(
  guest: BenchGuest,
  via: Via,
  identity: KeyPair,
  bundle: string,
  files: OfferedFile[],
): Promise<UploadRun> {
  const target = guest.target(via);
  const stream = await openStream(parseTarget(target), { timeoutMs: GUARD.connectMs });
  const channel = await connectHandshake(stream, {
    identity,
    target,
    timeoutMs: GUARD.handshakeMs,
  });
  try {
    const reply = async <T extends AgentMessage["t"]>(want: T) => {
      const got = await channel.receive(GUARD.requestMs);
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
    await reply("stored");
    const ms = performance.now() - start;
    const bytes = need.files.reduce((n, i) => n + files[i].size, 0);
    return { ms, needed: need.files.map((i) => files[i].path), bytes };
  } finally {
    await released(guest, via, async () => {
      await channel.send({ t: "bye" }).catch(() => {});
      channel.close();
    });
  }
}
