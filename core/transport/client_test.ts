import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProgressEvent } from "../api/mod.ts";
import { SAMPLES, wire } from "../api/_testing.ts";
import { NxError } from "../errors.ts";
import type { Channel } from "./channel.ts";
import { type ClientTimeouts, connect, remotePkgr, type Session } from "./client.ts";
import { acceptHandshake } from "./handshake.ts";
import type { HostMessage } from "./messages.ts";
import { describeBundle } from "./upload_send.ts";
import { keyPairFromSeed, seed } from "./_testing.ts";

const HOST = keyPairFromSeed(seed(7));
const AGENT_KEY = keyPairFromSeed(seed(8));
const BUNDLES = new URL("../../fixtures/bundles/", import.meta.url).pathname;

/** A scripted agent on 127.0.0.1: one connection, the real handshake, then `script`. */
async function withAgent(
  script: (agent: Channel) => Promise<void>,
  test: (session: Session, port: number) => Promise<void>,
  timeouts: Partial<ClientTimeouts> = {},
  options: { hostKey?: boolean; knownAgentsPath?: string } = {},
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const served = (async () => {
    const conn = await listener.accept();
    listener.close();
    const agent = await acceptHandshake(conn, {
      authorized: [HOST.publicKey],
      hostKey: options.hostKey ? AGENT_KEY : undefined,
    });
    try {
      await script(agent);
    } finally {
      agent.close();
    }
  })();
  const session = await connect({ kind: "tcp", host: "127.0.0.1", port }, {
    identity: HOST,
    knownAgentsPath: options.knownAgentsPath,
    timeouts,
  });
  try {
    await test(session, port);
  } finally {
    await session.close();
    await served;
  }
}

/** The next control message the agent receives. */
async function expectMessage(agent: Channel): Promise<HostMessage> {
  const incoming = await agent.receive();
  assert.equal(incoming.kind, "control");
  return (incoming as { msg: HostMessage }).msg;
}

function recorder() {
  const events: ProgressEvent[] = [];
  return {
    events,
    ctx: { now: new Date(0), reporter: { emit: (e: ProgressEvent) => events.push(e) } },
  };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<NxError> {
  const e = await p.then(() => undefined, (e) => e);
  assert.ok(e instanceof NxError, `expected ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  return e;
}

const LIST = SAMPLES.list.results[1];

Deno.test("remotePkgr() sends the call, forwards its events and resolves with its result", async () => {
  const { events, ctx } = recorder();
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    assert.equal(call.t, "call");
    if (call.t !== "call") return;
    assert.equal(call.method, "list");
    assert.deepEqual(call.request, {});
    await agent.send({ t: "event", id: call.id, event: { kind: "marker", text: "pkgr: list ok" } });
    await agent.send({
      t: "event",
      id: call.id,
      event: { kind: "progress", phase: "scan", done: 1, total: 2 },
    });
    await agent.send({ t: "result", id: call.id, result: wire(LIST) });
    assert.deepEqual(await expectMessage(agent), { t: "bye" });
  }, async (session) => {
    assert.deepEqual(await remotePkgr(session).list({}, ctx), LIST);
    assert.deepEqual(events, [
      { kind: "marker", text: "pkgr: list ok" },
      { kind: "progress", phase: "scan", done: 1, total: 2 },
    ]);
  });
});

Deno.test("remotePkgr() rejects with the agent's error, keeping code, hint and details", async () => {
  const error = {
    code: "lock.busy" as const,
    message: "cannot lock the root: another nx holds it",
    hint: "wait for it, or pass --wait",
    details: { pid: 42, path: "/var/lib/nx/pkg/lock" },
  };
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    await agent.send({ t: "error", id: call.id, error });
    // the session keeps serving after a failed call
    const ping = await expectMessage(agent);
    if (ping.t !== "ping") return assert.fail(ping.t);
    await agent.send({ t: "pong", n: ping.n });
    await expectMessage(agent);
  }, async (session) => {
    const e = await rejectsWith(
      remotePkgr(session).uninstall({ app: "notes" }, recorder().ctx),
      "lock.busy",
    );
    assert.equal(e.message, error.message);
    assert.equal(e.hint, error.hint);
    assert.deepEqual(e.details, error.details);
    assert.ok(await session.ping() >= 0);
    assert.equal(session.closed, false);
  });
});

Deno.test("remotePkgr() sends cancel on abort and ends with the agent's op.cancelled", async () => {
  const abort = new AbortController();
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    abort.abort();
    assert.deepEqual(await expectMessage(agent), { t: "cancel", id: call.id });
    await agent.send({
      t: "error",
      id: call.id,
      error: {
        code: "op.cancelled",
        message: "cannot continue: the caller cancelled the operation",
      },
    });
    await expectMessage(agent);
  }, async (session) => {
    const { ctx } = recorder();
    await rejectsWith(
      remotePkgr(session).rollback({ app: "notes" }, { ...ctx, signal: abort.signal }),
      "op.cancelled",
    );
    assert.equal(session.closed, false);
  });
});

Deno.test("remotePkgr() drops the connection when the agent does not confirm a cancel in time", async () => {
  const abort = new AbortController();
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    abort.abort();
    assert.equal((await expectMessage(agent)).t, "cancel");
    await rejectsWith(agent.receive(), "transport.closed"); // the host hung up
  }, async (session) => {
    const { ctx } = recorder();
    await rejectsWith(
      remotePkgr(session).rollback({ app: "notes" }, { ...ctx, signal: abort.signal }),
      "op.cancelled",
    );
    assert.equal(session.closed, true);
  }, { cancelGraceMs: 50 });
});

Deno.test("remotePkgr() with an aborted signal sends nothing", async () => {
  const abort = new AbortController();
  abort.abort();
  await withAgent(async (agent) => {
    assert.deepEqual(await expectMessage(agent), { t: "bye" });
  }, async (session) => {
    const { ctx } = recorder();
    await rejectsWith(
      remotePkgr(session).list({}, { ...ctx, signal: abort.signal }),
      "op.cancelled",
    );
  });
});

Deno.test("remotePkgr() on a request timeout cancels the call and fails with transport.timeout", async () => {
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    assert.deepEqual(await expectMessage(agent), { t: "cancel", id: call.id });
    await agent.send({
      t: "error",
      id: call.id,
      error: { code: "op.cancelled", message: "cannot continue: cancelled" },
    });
    const ping = await expectMessage(agent);
    if (ping.t !== "ping") return assert.fail(ping.t);
    await agent.send({ t: "pong", n: ping.n });
    await expectMessage(agent);
  }, async (session) => {
    await rejectsWith(remotePkgr(session).doctor({}, recorder().ctx), "transport.timeout");
    await session.ping(); // the agent answered the cancel: the session is still good
  }, { requestMs: 50 });
});

Deno.test("remotePkgr() fails with transport.closed when the connection closes mid-call", async () => {
  await withAgent(async (agent) => {
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    await agent.send({ t: "event", id: call.id, event: { kind: "marker", text: "pkgr: staging" } });
    agent.close();
  }, async (session) => {
    const e = await rejectsWith(remotePkgr(session).list({}, recorder().ctx), "transport.closed");
    assert.equal(e.details?.target, session.target);
    await rejectsWith(remotePkgr(session).list({}, recorder().ctx), "transport.closed");
  });
});

Deno.test("remotePkgr() refuses a result that fails the method's schema with transport.bad_frame", async (t) => {
  const bad: [string, unknown][] = [
    ["not an array", { apps: [] }],
    ["an unknown key", [{ ...LIST[0], extra: 1 }]],
    ["a wrong type", [{ ...LIST[0], size: "big" }]],
  ];
  for (const [name, result] of bad) {
    await t.step(name, async () => {
      await withAgent(async (agent) => {
        const call = await expectMessage(agent);
        if (call.t !== "call") return assert.fail(call.t);
        await agent.send({ t: "result", id: call.id, result });
        await rejectsWith(agent.receive(), "transport.closed");
      }, async (session) => {
        await rejectsWith(remotePkgr(session).list({}, recorder().ctx), "transport.bad_frame");
        assert.equal(session.closed, true);
      });
    });
  }
});

Deno.test("remotePkgr() refuses a reply to another call or of another kind", async (t) => {
  const replies: [string, (id: number) => Parameters<Channel["send"]>[0]][] = [
    ["result of another id", (id) => ({ t: "result", id: id + 1, result: [] })],
    ["a pong", () => ({ t: "pong", n: 1 })],
    ["a need", (id) => ({ t: "need", id, files: [] })],
  ];
  for (const [name, reply] of replies) {
    await t.step(name, async () => {
      await withAgent(async (agent) => {
        const call = await expectMessage(agent);
        if (call.t !== "call") return assert.fail(call.t);
        await agent.send(reply(call.id));
        await rejectsWith(agent.receive(), "transport.closed");
      }, async (session) => {
        await rejectsWith(remotePkgr(session).list({}, recorder().ctx), "transport.bad_frame");
      });
    });
  }
});

Deno.test("remotePkgr() fails with the error an agent's bye carries", async () => {
  await withAgent(async (agent) => {
    await expectMessage(agent);
    await agent.send({
      t: "bye",
      error: { code: "agent.busy", message: "cannot serve: shutting down" },
    });
  }, async (session) => {
    await rejectsWith(remotePkgr(session).list({}, recorder().ctx), "agent.busy");
    assert.equal(session.closed, true);
  });
});

/** The agent side of an upload: answers `need` with `wanted`, reassembles the bytes, stores. */
async function receiveUpload(agent: Channel, wanted: (files: { path: string }[]) => number[]) {
  const offer = await expectMessage(agent);
  if (offer.t !== "offer") return assert.fail(offer.t);
  const need = wanted(offer.files);
  await agent.send({ t: "need", id: offer.id, files: need });
  const total = need.reduce((n, i) => n + offer.files[i].size, 0);
  const bytes: Uint8Array[] = [];
  for (let got = 0; got < total;) {
    const incoming = await agent.receive();
    if (incoming.kind !== "data") return assert.fail("expected DATA");
    assert.ok(incoming.bytes.length <= 256 * 1024);
    bytes.push(incoming.bytes.slice());
    got += incoming.bytes.length;
  }
  await agent.send({ t: "event", id: offer.id, event: { kind: "marker", text: "agent: stored" } });
  await agent.send({ t: "stored", id: offer.id, upload: "u-1" });
  return { offer, need, bytes };
}

Deno.test("remotePkgr() uploads a bundle's needed files, then calls with the upload ref", async () => {
  const bundle = join(BUNDLES, "notes-1.0.0.nxb");
  const files = await describeBundle(bundle);
  const payload = files.findIndex((f) => f.path === "payload.elf");
  const result = SAMPLES.install.results[0];
  const { events, ctx } = recorder();
  await withAgent(async (agent) => {
    const { offer, bytes } = await receiveUpload(agent, () => [payload]);
    assert.deepEqual(offer.files, files);
    const sent = new Uint8Array(bytes.flatMap((b) => [...b]));
    assert.deepEqual(sent, await Deno.readFile(join(bundle, "payload.elf")));
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    assert.equal(call.method, "install");
    assert.deepEqual(call.request, {
      bundle: { kind: "upload", id: "u-1", name: bundle },
      dryRun: true,
    });
    await agent.send({ t: "result", id: call.id, result: wire(result) });
    await expectMessage(agent);
  }, async (session) => {
    const got = await remotePkgr(session).install({
      bundle: { kind: "path", path: bundle },
      dryRun: true,
    }, ctx);
    assert.deepEqual(got, result);
    const size = files[payload].size;
    assert.deepEqual(events, [
      { kind: "progress", phase: "upload", done: size, total: size },
      { kind: "marker", text: "agent: stored" },
    ]);
  });
});

Deno.test("remotePkgr() names the upload by the bundle's display name when it has one", async () => {
  const bundle = join(BUNDLES, "notes-1.0.0.nxb");
  await withAgent(async (agent) => {
    await receiveUpload(agent, () => []);
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    assert.deepEqual(call.request, { bundle: { kind: "upload", id: "u-1", name: "notes.nxb" } });
    await agent.send({ t: "result", id: call.id, result: wire(SAMPLES.verify.results[0]) });
    await expectMessage(agent);
  }, async (session) => {
    const { events, ctx } = recorder();
    await remotePkgr(session).verify(
      { bundle: { kind: "path", path: bundle, name: "notes.nxb" } },
      ctx,
    );
    assert.deepEqual(events, [{ kind: "marker", text: "agent: stored" }]); // nothing to upload
  });
});

Deno.test("remotePkgr() refuses a bundle locally as verify would, before any frame", async () => {
  const dir = join(await Deno.makeTempDir(), "notes.nxb");
  await Deno.mkdir(dir);
  await Deno.symlink("/etc/passwd", join(dir, "payload.elf"));
  await withAgent(async (agent) => {
    assert.deepEqual(await expectMessage(agent), { t: "bye" });
  }, async (session) => {
    await rejectsWith(
      remotePkgr(session).verify({ bundle: { kind: "path", path: dir } }, recorder().ctx),
      "bundle.symlink",
    );
  });
});

Deno.test("remotePkgr() fails with the agent's error for an offer", async () => {
  await withAgent(async (agent) => {
    const offer = await expectMessage(agent);
    if (offer.t !== "offer") return assert.fail(offer.t);
    await agent.send({
      t: "error",
      id: offer.id,
      error: { code: "io.no_space", message: "cannot store upload: disk full" },
    });
    await expectMessage(agent);
  }, async (session) => {
    const bundle = { kind: "path" as const, path: join(BUNDLES, "notes-1.0.0.nxb") };
    await rejectsWith(remotePkgr(session).upgrade({ bundle }, recorder().ctx), "io.no_space");
  });
});

Deno.test("remotePkgr() refuses a need that is not ascending indices of the offer", async () => {
  await withAgent(async (agent) => {
    const offer = await expectMessage(agent);
    if (offer.t !== "offer") return assert.fail(offer.t);
    await agent.send({ t: "need", id: offer.id, files: [offer.files.length] });
    await rejectsWith(agent.receive(), "transport.closed");
  }, async (session) => {
    const bundle = { kind: "path" as const, path: join(BUNDLES, "notes-1.0.0.nxb") };
    await rejectsWith(
      remotePkgr(session).install({ bundle }, recorder().ctx),
      "transport.bad_frame",
    );
    assert.equal(session.closed, true);
  });
});

Deno.test("connect() pins the agent's host key in known_agents and refuses another", async () => {
  const knownAgentsPath = join(await Deno.makeTempDir(), "nx", "known_agents");
  await withAgent(
    async (agent) => {
      await expectMessage(agent);
    },
    async (session, port) => {
      assert.deepEqual(session.agentKey, AGENT_KEY.publicKey);
      const text = await Deno.readTextFile(knownAgentsPath);
      assert.equal(text, `tcp:127.0.0.1:${port} ed25519 ${AGENT_KEY.publicKey.toBase64()}\n`);
      // the same target now presenting another key
      const other = keyPairFromSeed(seed(9)).publicKey.toBase64();
      await Deno.writeTextFile(knownAgentsPath, `tcp:127.0.0.1:${port} ed25519 ${other}\n`);
    },
    {},
    { hostKey: true, knownAgentsPath },
  );
  const [port] = (await Deno.readTextFile(knownAgentsPath)).match(/(?<=:)\d+(?= )/)!;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(port) });
  const served = listener.accept().then(async (conn) => {
    listener.close();
    await acceptHandshake(conn, { authorized: [HOST.publicKey], hostKey: AGENT_KEY }).catch(
      () => {},
    );
  });
  await rejectsWith(
    connect({ kind: "tcp", host: "127.0.0.1", port: Number(port) }, {
      identity: HOST,
      knownAgentsPath,
    }),
    "transport.agent_key_mismatch",
  );
  await served;
});

Deno.test("connect() to a port nobody listens on is transport.unreachable", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await rejectsWith(
    connect({ kind: "tcp", host: "127.0.0.1", port }, { identity: HOST }),
    "transport.unreachable",
  );
});

Deno.test("connect() with a key the agent does not authorise is transport.unauthenticated", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = listener.accept().then(async (conn) => {
    listener.close();
    await acceptHandshake(conn, { authorized: [AGENT_KEY.publicKey] }).catch(() => {});
  });
  await rejectsWith(
    connect({ kind: "tcp", host: "127.0.0.1", port: listener.addr.port }, { identity: HOST }),
    "transport.unauthenticated",
  );
  await served;
});

Deno.test("Session.close() says bye", async () => {
  let said: HostMessage | undefined;
  await withAgent(async (agent) => {
    said = await expectMessage(agent);
  }, async () => {});
  assert.deepEqual(said, { t: "bye" });
});

/**
 * Reads DATA frames until the host sends a control message (returned as `next`) or hangs up
 * (`error`); calls `onFirst` after the first frame.
 */
async function drainUpload(agent: Channel, onFirst: (offerId: number) => Promise<void>) {
  const offer = await expectMessage(agent);
  if (offer.t !== "offer") return assert.fail(offer.t);
  await agent.send({ t: "need", id: offer.id, files: offer.files.map((_, i) => i) });
  let frames = 0;
  for (;;) {
    const incoming = await agent.receive().catch((e) => e);
    if (incoming instanceof NxError) return { frames, error: incoming };
    if (incoming.kind === "control") return { frames, next: incoming.msg as HostMessage };
    if (++frames === 1) await onFirst(offer.id);
  }
}

Deno.test("remotePkgr() forwards events that arrive during an upload", async () => {
  const bundle = join(BUNDLES, "big-1.0.0.nxb");
  const { events, ctx } = recorder();
  await withAgent(async (agent) => {
    const offer = await expectMessage(agent);
    if (offer.t !== "offer") return assert.fail(offer.t);
    await agent.send({ t: "need", id: offer.id, files: offer.files.map((_, i) => i) });
    const total = offer.files.reduce((n, f) => n + f.size, 0);
    let got = 0;
    for (let frame = 0; got < total; frame++) {
      const incoming = await agent.receive();
      if (incoming.kind !== "data") return assert.fail("expected DATA");
      got += incoming.bytes.length;
      if (frame === 0) {
        await agent.send({
          t: "event",
          id: offer.id,
          event: { kind: "marker", text: "agent: writing" },
        });
      }
    }
    await agent.send({ t: "stored", id: offer.id, upload: "u-big" });
    const call = await expectMessage(agent);
    if (call.t !== "call") return assert.fail(call.t);
    await agent.send({ t: "result", id: call.id, result: wire(SAMPLES.verify.results[0]) });
    await expectMessage(agent);
  }, async (session) => {
    await remotePkgr(session).verify({ bundle: { kind: "path", path: bundle } }, ctx);
    assert.ok(events.some((e) => e.kind === "marker" && e.text === "agent: writing"));
    const progress = events.filter((e) => e.kind === "progress");
    assert.ok(progress.length > 10);
    const last = progress.at(-1)!;
    assert.ok(
      last.kind === "progress" && last.done === last.total && last.total > 15 * 1024 * 1024,
    );
  });
});

Deno.test("remotePkgr() stops an upload at the agent's error; the session stays usable", async () => {
  // Whether the error arrives between two frames or after the last one, the host stops at a
  // frame boundary, so the agent's next control message is the host's next request.
  const bundle = join(BUNDLES, "big-1.0.0.nxb");
  await withAgent(async (agent) => {
    const { next } = await drainUpload(agent, (id) =>
      agent.send({
        t: "error",
        id,
        error: {
          code: "agent.upload_mismatch",
          message: "cannot store payload.elf: digest differs",
        },
      }));
    if (next?.t !== "ping") return assert.fail(`expected a ping, got ${next?.t}`);
    await agent.send({ t: "pong", n: next.n });
    assert.deepEqual(await expectMessage(agent), { t: "bye" });
  }, async (session) => {
    const e = await rejectsWith(
      remotePkgr(session).install({ bundle: { kind: "path", path: bundle } }, recorder().ctx),
      "agent.upload_mismatch",
    );
    assert.equal(e.message, "cannot store payload.elf: digest differs");
    assert.equal(session.closed, false);
    await session.ping();
  });
});

Deno.test("remotePkgr() cancelled during an upload drops the connection with op.cancelled", async () => {
  const bundle = join(BUNDLES, "big-1.0.0.nxb");
  const abort = new AbortController();
  await withAgent(async (agent) => {
    const { error, next } = await drainUpload(agent, () => Promise.resolve(abort.abort()));
    assert.equal(next, undefined);
    // the drop may cut the frame being written: the agent then sees a torn one
    assert.ok(["transport.closed", "transport.bad_frame"].includes(error!.code), error?.code);
  }, async (session) => {
    const ctx = { ...recorder().ctx, signal: abort.signal };
    await rejectsWith(
      remotePkgr(session).install({ bundle: { kind: "path", path: bundle } }, ctx),
      "op.cancelled",
    );
    assert.equal(session.closed, true);
  });
});
