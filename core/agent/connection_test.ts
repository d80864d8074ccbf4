import assert from "node:assert/strict";
import { join } from "node:path";
import type { CallContext, Pkgr, ProgressEvent } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { exists, type RootPaths } from "../store/mod.ts";
import {
  type AgentMessage,
  type Channel,
  connectHandshake,
  DEFAULT_TIMEOUTS,
  remotePkgr,
  Session,
} from "../transport/mod.ts";
import { keyPairFromSeed, memoryPair, seed } from "../transport/_testing.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { ContentStore } from "./content_store.ts";
import { UploadArea, uploadsDir } from "./uploads.ts";
import { callContext, fixtureCopy, neededBytes, offerOf, rootWith } from "./_testing.ts";

const HOST = keyPairFromSeed(seed(3));
const STRANGER = keyPairFromSeed(seed(4));

interface Agent {
  channel: Channel;
  served: Promise<void>;
  connection: Connection;
  log: ProgressEvent[];
  pair: ReturnType<typeof memoryPair>;
}

/** A Connection on one end of an in-memory pair, and a host channel on the other. */
async function connected(
  paths: RootPaths,
  pkgr: Pkgr,
  o: Partial<ConnectionOptions> = {},
): Promise<Agent> {
  const pair = memoryPair();
  const log: ProgressEvent[] = [];
  const connection = new Connection(pair.agent, {
    authorized: [HOST.publicKey],
    handshakeTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
    pkgr,
    allowAdmin: false,
    uploads: new UploadArea(paths, new ContentStore({ paths })),
    log: { emit: (e) => log.push(e) },
    ...o,
  });
  const served = connection.run();
  const channel = await connectHandshake(pair.host, { identity: HOST, target: "memory" });
  return { channel, served, connection, log, pair };
}

async function next(channel: Channel): Promise<AgentMessage> {
  const got = await channel.receive();
  if (got.kind !== "control") throw new Error("the agent sent DATA");
  return got.msg as AgentMessage;
}

const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;
const markers = (events: ProgressEvent[]) =>
  events.flatMap((e) => e.kind === "marker" ? [e.text] : []);

/** A Pkgr whose `list` waits until released or cancelled (to hold a call in flight). */
function heldList(real: Pkgr) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const started: { signal?: AbortSignal }[] = [];
  const pkgr: Pkgr = {
    ...real,
    list: async (req, ctx: CallContext) => {
      started.push({ signal: ctx.signal });
      await Promise.race([
        released,
        new Promise((_, reject) =>
          ctx.signal?.addEventListener(
            "abort",
            () => reject(new NxError("op.cancelled", "cannot continue: cancelled")),
          )
        ),
      ]);
      return real.list(req, ctx);
    },
  };
  return { pkgr, release, started };
}

Deno.test("a host drives the root through the connection: upload, install, events", async () => {
  const { paths, pkgr } = await rootWith([]);
  const agent = await connected(paths, pkgr);
  const session = new Session("memory", agent.channel, DEFAULT_TIMEOUTS);
  const remote = remotePkgr(session);
  const events: ProgressEvent[] = [];
  const bundle = await fixtureCopy("notes-1.0.0");

  const op = await remote.install({ bundle: { kind: "path", path: bundle } }, callContext(events));

  assert.equal(op.toVersion, "1.0.0");
  assert.deepEqual(markers(events), [
    "pkgr: verified ok",
    "pkgr: install app=notes v=1.0.0",
    "pkgr: activate current=1.0.0",
  ]);
  assert.deepEqual(markers(agent.log).slice(-2), [
    "bundle: verify ok app=notes",
    "bundle: install ok notes@1.0.0",
  ]);
  assert.deepEqual((await remote.list({}, callContext())).map((a) => a.id), ["notes"]);
  // The install staged the upload's tree itself: it is the installed version now.
  const uploads = () => Array.fromAsync(Deno.readDir(uploadsDir(paths)), (e) => e.name);
  assert.deepEqual(await uploads(), []);
  // A verify of the same bundle sends nothing (the version holds every file) and keeps its upload.
  const verifyEvents: ProgressEvent[] = [];
  await remote.verify({ bundle: { kind: "path", path: bundle } }, callContext(verifyEvents));
  assert.equal(verifyEvents.some((e) => e.kind === "progress" && e.phase === "upload"), false);
  assert.ok(await session.ping() >= 0);
  await session.close();
  await agent.served;
  assert.deepEqual(await uploads(), ["recent"]);
  assert.deepEqual(
    await Array.fromAsync(Deno.readDir(join(uploadsDir(paths), "recent"))).then((e) => e.length),
    1,
  );
});

Deno.test("an upgrade asks only for the files the agent does not hold", async () => {
  const { paths, pkgr } = await rootWith(["notes-1.0.0"]);
  const agent = await connected(paths, pkgr);
  const bundle = await fixtureCopy("notes-1.1.0");
  const files = await offerOf(bundle);
  await agent.channel.send({ t: "offer", id: 1, files });
  const need = await next(agent.channel);
  assert.equal(need.t, "need");
  const wanted = need.t === "need" ? need.files : [];
  assert.ok(wanted.length > 0 && wanted.length < files.length, JSON.stringify(wanted));
  await agent.channel.sendData(await neededBytes(bundle, files, wanted));
  const stored = await next(agent.channel);
  assert.ok(stored.t === "stored" && stored.id === 1);
  const upload = stored.t === "stored" ? stored.upload : "";
  await agent.channel.send({
    t: "call",
    id: 2,
    method: "upgrade",
    request: { bundle: { kind: "upload", id: upload, name: bundle } },
  });
  let reply: AgentMessage;
  do reply = await next(agent.channel); while (reply.t === "event");
  assert.equal(reply.t === "result" && (reply.result as { toVersion: string }).toVersion, "1.1.0");
  // The upload served its call: naming it again is agent.upload_unknown.
  await agent.channel.send({
    t: "call",
    id: 3,
    method: "verify",
    request: { bundle: { kind: "upload", id: upload, name: bundle } },
  });
  const again = await next(agent.channel);
  assert.equal(again.t === "error" && again.error.code, "agent.upload_unknown");
  agent.channel.close();
  await agent.served;
});

Deno.test("while a call runs: ping is answered, a second call is agent.busy, cancel aborts it", async () => {
  const { paths, pkgr: real } = await rootWith([]);
  const held = heldList(real);
  const agent = await connected(paths, held.pkgr);
  await agent.channel.send({ t: "call", id: 1, method: "list", request: {} });
  await agent.channel.send({ t: "ping", n: 9 });
  assert.deepEqual(await next(agent.channel), { t: "pong", n: 9 });
  await agent.channel.send({ t: "call", id: 2, method: "list", request: {} });
  const busy = await next(agent.channel);
  assert.ok(busy.t === "error" && busy.id === 2 && busy.error.code === "agent.busy");
  await agent.channel.send({ t: "cancel", id: 1 });
  const cancelled = await next(agent.channel);
  assert.ok(cancelled.t === "error" && cancelled.id === 1, JSON.stringify(cancelled));
  assert.equal(cancelled.t === "error" && cancelled.error.code, "op.cancelled");
  // The connection goes on serving.
  held.release();
  await agent.channel.send({ t: "call", id: 3, method: "list", request: {} });
  assert.deepEqual(await next(agent.channel), { t: "result", id: 3, result: [] });
  agent.channel.close();
  await agent.served;
});

Deno.test("a host that goes away mid-call cancels the call; the connection ends after it", async () => {
  const { paths, pkgr: real } = await rootWith([]);
  const held = heldList(real);
  const agent = await connected(paths, held.pkgr);
  await agent.channel.send({ t: "call", id: 1, method: "list", request: {} });
  while (held.started.length === 0) await new Promise((r) => setTimeout(r, 1));
  agent.pair.host.close();
  await agent.served;
  assert.equal(held.started[0].signal?.aborted, true);
});

Deno.test("an idle connection is closed with bye {transport.timeout}", async () => {
  const { paths, pkgr } = await rootWith([]);
  const agent = await connected(paths, pkgr, { idleTimeoutMs: 30 });
  const bye = await next(agent.channel);
  assert.equal(bye.t === "bye" && bye.error?.code, "transport.timeout");
  await agent.served;
  assert.equal(agent.log.some((e) => e.kind === "warning" && e.code === "transport.timeout"), true);
});

Deno.test("a host key that is not authorised is refused (transport.unauthenticated)", async () => {
  const { paths, pkgr } = await rootWith([]);
  const pair = memoryPair();
  const log: ProgressEvent[] = [];
  const connection = new Connection(pair.agent, {
    authorized: [HOST.publicKey],
    handshakeTimeoutMs: 5_000,
    idleTimeoutMs: 60_000,
    pkgr,
    allowAdmin: false,
    uploads: new UploadArea(paths, new ContentStore({ paths })),
    log: { emit: (e) => log.push(e) },
  });
  const served = connection.run();
  await assert.rejects(
    connectHandshake(pair.host, { identity: STRANGER, target: "memory" }),
    (e) => code(e) === "transport.unauthenticated",
  );
  await served;
  assert.equal(
    log.some((e) => e.kind === "warning" && e.code === "transport.unauthenticated"),
    true,
  );
});

Deno.test("a frame with a bad MAC closes the connection (transport.unauthenticated)", async () => {
  const { paths, pkgr } = await rootWith([]);
  const agent = await connected(paths, pkgr);
  agent.pair.toAgent.pass = false;
  await agent.channel.send({ t: "ping", n: 1 });
  const frame = agent.pair.toAgent.seen.at(-1)!;
  frame[frame.length - 1] ^= 1;
  agent.pair.toAgent.inject(frame);
  await agent.served;
  assert.equal(
    agent.log.some((e) => e.kind === "warning" && e.code === "transport.unauthenticated"),
    true,
  );
});

Deno.test("upload bytes that do not match are agent.upload_mismatch; the connection goes on", async (t) => {
  const { paths, pkgr } = await rootWith([]);
  const bundle = await fixtureCopy("notes-1.0.0");
  const files = await offerOf(bundle);
  const bytes = await neededBytes(bundle, files, files.map((_, i) => i));

  const expectError = async (agent: Agent, id: number, expected: string) => {
    let msg: AgentMessage;
    do msg = await next(agent.channel); while (msg.t === "need" || msg.t === "stored");
    assert.ok(msg.t === "error" && msg.id === id, JSON.stringify(msg));
    assert.equal(msg.t === "error" && msg.error.code, expected);
  };
  const stillServes = async (agent: Agent) => {
    await agent.channel.send({ t: "ping", n: 5 });
    assert.deepEqual(await next(agent.channel), { t: "pong", n: 5 });
    await agent.channel.send({ t: "call", id: 99, method: "list", request: {} });
    assert.deepEqual(await next(agent.channel), { t: "result", id: 99, result: [] });
    agent.channel.close();
    await agent.served;
    assert.deepEqual(await Array.fromAsync(Deno.readDir(uploadsDir(paths))), []);
  };

  await t.step("other bytes than announced", async () => {
    const agent = await connected(paths, pkgr);
    await agent.channel.send({ t: "offer", id: 1, files });
    const other = bytes.slice();
    other[10] ^= 1;
    await agent.channel.sendData(other);
    await expectError(agent, 1, "agent.upload_mismatch");
    await stillServes(agent);
  });
  await t.step("more bytes than announced", async () => {
    const agent = await connected(paths, pkgr);
    await agent.channel.send({ t: "offer", id: 1, files });
    await agent.channel.sendData(bytes);
    await agent.channel.sendData(new Uint8Array(4));
    await expectError(agent, 1, "agent.upload_mismatch");
    await stillServes(agent);
  });
  await t.step("fewer bytes, then the call", async () => {
    const agent = await connected(paths, pkgr);
    await agent.channel.send({ t: "offer", id: 1, files });
    await agent.channel.sendData(bytes.subarray(0, 100));
    await agent.channel.send({ t: "call", id: 2, method: "list", request: {} });
    await expectError(agent, 1, "agent.upload_mismatch");
    assert.deepEqual(await next(agent.channel), { t: "result", id: 2, result: [] });
    await stillServes(agent);
  });
  await t.step("an unsafe path in the offer", async () => {
    const agent = await connected(paths, pkgr);
    await agent.channel.send({ t: "offer", id: 1, files: [{ ...files[0], path: "../escape" }] });
    await expectError(agent, 1, "bundle.unsafe_path");
    await stillServes(agent);
  });
});

Deno.test("the uploads of a closed connection are removed", async () => {
  const { paths, pkgr } = await rootWith([]);
  const agent = await connected(paths, pkgr);
  const bundle = await fixtureCopy("notes-1.0.0");
  const files = await offerOf(bundle);
  await agent.channel.send({ t: "offer", id: 1, files });
  await next(agent.channel); // need: everything
  await agent.channel.sendData(await neededBytes(bundle, files, files.map((_, i) => i)));
  const stored = await next(agent.channel);
  assert.equal(stored.t, "stored");
  const dir = join(uploadsDir(paths), stored.t === "stored" ? stored.upload : "");
  assert.equal(await exists(dir), true);
  agent.channel.close();
  await agent.served;
  assert.equal(await exists(dir), false);
});

Deno.test("drain() ends an idle connection with bye, and a busy one after its reply", async () => {
  const { paths, pkgr: real } = await rootWith([]);
  const idle = await connected(paths, real);
  idle.connection.drain();
  assert.deepEqual(await next(idle.channel), { t: "bye" });
  await idle.served;

  const held = heldList(real);
  const busy = await connected(paths, held.pkgr);
  await busy.channel.send({ t: "call", id: 1, method: "list", request: {} });
  while (held.started.length === 0) await new Promise((r) => setTimeout(r, 1));
  busy.connection.drain();
  held.release();
  assert.deepEqual(await next(busy.channel), { t: "result", id: 1, result: [] });
  assert.deepEqual(await next(busy.channel), { t: "bye" });
  await busy.served;
});
