import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { sign } from "../trust/mod.ts";
import { encodeHeader, encodePlainFrame, FrameType } from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import { acceptHandshake, connectHandshake, refuseConnection } from "./handshake.ts";
import { sha256 } from "./kex.ts";
import { type KnownAgents, KnownAgentsFile } from "./known_agents.ts";
import { decodeJson, encodeJson } from "./messages.ts";
import { keyPairFromSeed, memoryPair, seed, tcpPair } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;
/** The error `p` rejects with, handled at once (the test awaits it later). */
const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(() => assert.fail("expected a failure"), (e) => e);
const assertCode = async (p: Promise<unknown>, c: string) => {
  const e = await p;
  assert.ok(code(c)(e), `expected ${c}, got ${e}`);
};
const HOST = keyPairFromSeed(seed(1));
const AGENT = keyPairFromSeed(seed(2));
const OTHER = keyPairFromSeed(seed(3));
const TARGET = "tcp:127.0.0.1:7000";

function pinned(entries: Record<string, Uint8Array[]>): KnownAgents & { recorded: unknown[] } {
  const recorded: unknown[] = [];
  return {
    recorded,
    lookup: (t) => entries[t] ?? [],
    record: (target, key) => {
      recorded.push({ target, key });
      return Promise.resolve();
    },
  };
}

Deno.test("connectHandshake() and acceptHandshake() open a channel both ways", async () => {
  const pair = memoryPair();
  const [host, agent] = await Promise.all([
    connectHandshake(pair.host, { identity: HOST, target: TARGET }),
    acceptHandshake(pair.agent, { authorized: [OTHER.publicKey, HOST.publicKey], hostKey: AGENT }),
  ]);
  assert.deepEqual(agent.peerKey, HOST.publicKey);
  assert.deepEqual(host.peerKey, AGENT.publicKey);
  assert.equal(host.session, agent.session);
  assert.match(host.session, /^[0-9a-f]{32}$/);
  await host.send({ t: "ping", n: 1 });
  assert.deepEqual(await agent.receive(), { kind: "control", msg: { t: "ping", n: 1 } });
  await agent.send({ t: "pong", n: 1 });
  assert.deepEqual(await host.receive(), { kind: "control", msg: { t: "pong", n: 1 } });
  host.close();
  agent.close();
});

Deno.test("connectHandshake() without an agent host key has no peerKey", async () => {
  const pair = memoryPair();
  const [host, agent] = await Promise.all([
    connectHandshake(pair.host, { identity: HOST, target: TARGET, knownAgents: pinned({}) }),
    acceptHandshake(pair.agent, { authorized: [HOST.publicKey] }),
  ]);
  assert.equal(host.peerKey, undefined);
  host.close();
  agent.close();
});

Deno.test("a handshake over real 127.0.0.1 TCP carries data", async () => {
  const { host: hostConn, agent: agentConn } = await tcpPair();
  const [host, agent] = await Promise.all([
    connectHandshake(hostConn, { identity: HOST, target: TARGET }),
    acceptHandshake(agentConn, { authorized: [HOST.publicKey], hostKey: AGENT }),
  ]);
  const bytes = new Uint8Array(256 * 1024).map((_, i) => i * 7);
  await Promise.all([host.sendData(bytes), host.send({ t: "bye" })]);
  assert.deepEqual(await agent.receive(), { kind: "data", bytes });
  assert.deepEqual(await agent.receive(), { kind: "control", msg: { t: "bye" } });
  host.close();
  await assert.rejects(agent.receive(), code("transport.closed"));
  agent.close();
});

Deno.test("an unauthorised key is refused: the host gets the REFUSE as transport.unauthenticated", async () => {
  const pair = memoryPair();
  const [host, agent] = await Promise.allSettled([
    connectHandshake(pair.host, { identity: OTHER, target: TARGET }),
    acceptHandshake(pair.agent, { authorized: [HOST.publicKey] }),
  ]);
  assert.equal(host.status, "rejected");
  assert.ok(code("transport.unauthenticated")(host.reason));
  assert.equal(agent.status, "rejected");
  assert.ok(code("transport.unauthenticated")(agent.reason));
});

/** A readable at EOF (the refusing agent's linger ends at once). */
const ended = () =>
  new ReadableStream<Uint8Array>({
    start(c) {
      c.close();
    },
  });

/** Plays the host by hand: raw frames in, frames out. */
function rawHost() {
  const pair = memoryPair();
  const reader = new FrameReader(pair.host.readable);
  return {
    pair,
    send: (bytes: Uint8Array) => pair.toAgent.inject(bytes),
    next: () => reader.next(2000),
    async refusal(): Promise<string> {
      const frame = await reader.next(2000);
      assert.equal(frame?.type, FrameType.REFUSE);
      return (decodeJson(frame!.body, "REFUSE") as { code: string }).code;
    },
  };
}

Deno.test("a HELLO and AUTH recorded from an earlier session are refused (replay)", async () => {
  const first = memoryPair();
  const [h, a] = await Promise.all([
    connectHandshake(first.host, { identity: HOST, target: TARGET }),
    acceptHandshake(first.agent, { authorized: [HOST.publicKey] }),
  ]);
  h.close();
  a.close();
  const [hello, auth] = first.toAgent.seen;

  const raw = rawHost();
  const agent = failure(acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey] }));
  raw.send(hello);
  assert.equal((await raw.next())?.type, FrameType.CHALLENGE); // fresh nonce and ephemeral key
  raw.send(auth);
  assert.equal(await raw.refusal(), "transport.unauthenticated");
  raw.pair.host.close();
  await assertCode(agent, "transport.unauthenticated");
});

Deno.test("random bytes instead of a HELLO are refused (bad_frame)", async () => {
  const raw = rawHost();
  const agent = failure(acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey] }));
  raw.send(Uint8Array.from({ length: 64 }, (_, i) => (i * 151 + 7) & 0xff));
  assert.equal(await raw.refusal(), "transport.bad_frame");
  raw.pair.host.close();
  await assertCode(agent, "transport.bad_frame");
});

Deno.test("a HELLO of protocol version 2 is refused (protocol_version)", async (t) => {
  const hello = encodeJson({ v: 1, nonce: "", eph: "", key: "" });
  await t.step("in the frame header", async () => {
    const raw = rawHost();
    const agent = failure(acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey] }));
    const header = encodeHeader(FrameType.HELLO, hello.length);
    header[2] = 2;
    raw.send(header);
    raw.send(hello);
    assert.equal(await raw.refusal(), "transport.protocol_version");
    raw.pair.host.close();
    await assertCode(agent, "transport.protocol_version");
  });
  await t.step("in the HELLO body", async () => {
    const raw = rawHost();
    const agent = failure(acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey] }));
    raw.send(encodePlainFrame(FrameType.HELLO, encodeJson({ v: 2, future: true })));
    assert.equal(await raw.refusal(), "transport.protocol_version");
    raw.pair.host.close();
    await assertCode(agent, "transport.protocol_version");
  });
  await t.step("the host reports the agent's REFUSE with its code", async () => {
    const pair = memoryPair();
    const host = failure(connectHandshake(pair.host, { identity: HOST, target: TARGET }));
    await new FrameReader(pair.agent.readable).next(); // the HELLO
    await refuseConnection(
      { ...pair.agent, readable: ended() },
      new NxError("transport.protocol_version", "cannot talk: version"),
    );
    await assertCode(host, "transport.protocol_version");
  });
});

Deno.test("a low-order ephemeral key (all-zero shared secret) is refused (unauthenticated)", async () => {
  const raw = rawHost();
  const agent = failure(acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey] }));
  const hello = encodeJson({
    v: 1,
    nonce: new Uint8Array(32).toBase64(),
    eph: new Uint8Array(32).toBase64(), // u = 0: a point of order 4 on curve25519
    key: HOST.publicKey.toBase64(),
  });
  raw.send(encodePlainFrame(FrameType.HELLO, hello));
  const challenge = await raw.next();
  // a correct signature, so only the key exchange can fail
  const th = await sha256(hello, challenge!.body);
  const sig = sign(new Uint8Array([...new TextEncoder().encode("nx-host-v1"), ...th]), HOST.seed);
  raw.send(encodePlainFrame(FrameType.AUTH, encodeJson({ sig: sig.toBase64() })));
  assert.equal(await raw.refusal(), "transport.unauthenticated");
  raw.pair.host.close();
  await assertCode(agent, "transport.unauthenticated");
});

Deno.test("an agent host key that differs from the pinned one is refused (agent_key_mismatch)", async (t) => {
  for (
    const [name, hostKey] of [["another key", AGENT], ["no key at all", undefined]] as const
  ) {
    await t.step(name, async () => {
      const pair = memoryPair();
      const known = pinned({ [TARGET]: [OTHER.publicKey] });
      const [host, agent] = await Promise.allSettled([
        connectHandshake(pair.host, { identity: HOST, target: TARGET, knownAgents: known }),
        acceptHandshake(pair.agent, { authorized: [HOST.publicKey], hostKey }),
      ]);
      assert.equal(host.status, "rejected");
      assert.ok(code("transport.agent_key_mismatch")(host.reason));
      assert.equal(agent.status, "rejected");
      assert.ok(code("transport.closed")(agent.reason)); // the host hung up before AUTH
      assert.deepEqual(known.recorded, []);
    });
  }
});

Deno.test("an agent's host key signature that does not verify is refused (unauthenticated)", async () => {
  const pair = memoryPair();
  const host = failure(connectHandshake(pair.host, { identity: HOST, target: TARGET }));
  await new FrameReader(pair.agent.readable).next();
  pair.toHost.inject(encodePlainFrame(
    FrameType.CHALLENGE,
    encodeJson({
      v: 1,
      nonce: new Uint8Array(32).fill(1).toBase64(),
      eph: new Uint8Array(32).fill(9).toBase64(),
      agentKey: AGENT.publicKey.toBase64(),
      agentSig: sign(new Uint8Array([1]), AGENT.seed).toBase64(),
    }),
  ));
  await assertCode(host, "transport.unauthenticated");
});

Deno.test("connectHandshake() records an unknown agent's key (accept-new), then pins it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nx", "known_agents");
    const first = memoryPair();
    const known = await KnownAgentsFile.load(path);
    const [h, a] = await Promise.all([
      connectHandshake(first.host, { identity: HOST, target: TARGET, knownAgents: known }),
      acceptHandshake(first.agent, { authorized: [HOST.publicKey], hostKey: AGENT }),
    ]);
    h.close();
    a.close();
    assert.equal(
      await Deno.readTextFile(path),
      `${TARGET} ed25519 ${AGENT.publicKey.toBase64()}\n`,
    );

    const again = memoryPair();
    const reloaded = await KnownAgentsFile.load(path);
    const [host] = await Promise.allSettled([
      connectHandshake(again.host, { identity: HOST, target: TARGET, knownAgents: reloaded }),
      acceptHandshake(again.agent, { authorized: [HOST.publicKey], hostKey: OTHER }),
    ]);
    assert.equal(host.status, "rejected");
    assert.ok(code("transport.agent_key_mismatch")(host.reason));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A well-formed HELLO body from a real host. */
async function recordedHello(): Promise<Uint8Array> {
  const pair = memoryPair();
  const host = failure(connectHandshake(pair.host, { identity: HOST, target: TARGET }));
  const frame = await new FrameReader(pair.agent.readable).next();
  pair.agent.close();
  await host;
  return frame!.body;
}

Deno.test("a silent peer times the handshake out (timeout)", async (t) => {
  await t.step("the agent waiting for a HELLO", async () => {
    const raw = rawHost();
    const agent = failure(
      acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey], timeoutMs: 50 }),
    );
    assert.equal(await raw.refusal(), "transport.timeout");
    raw.pair.host.close();
    await assertCode(agent, "transport.timeout");
  });
  await t.step("the agent waiting for the AUTH", async () => {
    const raw = rawHost();
    const agent = failure(
      acceptHandshake(raw.pair.agent, { authorized: [HOST.publicKey], timeoutMs: 100 }),
    );
    raw.send(encodePlainFrame(FrameType.HELLO, await recordedHello()));
    assert.equal((await raw.next())?.type, FrameType.CHALLENGE);
    assert.equal(await raw.refusal(), "transport.timeout");
    raw.pair.host.close();
    await assertCode(agent, "transport.timeout");
  });
  await t.step("the host waiting for a CHALLENGE", async () => {
    const pair = memoryPair();
    await assert.rejects(
      connectHandshake(pair.host, { identity: HOST, target: TARGET, timeoutMs: 50 }),
      code("transport.timeout"),
    );
  });
});
