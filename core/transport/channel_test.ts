import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { encodePlainFrame, FrameType, HEADER_SIZE, MAX_BODY } from "./frame.ts";
import type { Incoming } from "./channel.ts";
import { channelPair, memoryPair } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;
const control = (i: Incoming) => (i.kind === "control" ? i.msg : assert.fail(`got ${i.kind}`));

Deno.test("Channel carries control messages and data both ways, in order", async () => {
  const { host, agent } = await channelPair();
  await host.send({ t: "call", id: 1, method: "list", request: {} });
  await host.sendData(new Uint8Array([1, 2, 3]));
  await host.sendData(new Uint8Array(0));
  await agent.send({ t: "event", id: 1, event: { kind: "marker", text: "pkgr: ok" } });
  await agent.send({ t: "result", id: 1, result: { apps: [] } });
  assert.deepEqual(control(await agent.receive()), {
    t: "call",
    id: 1,
    method: "list",
    request: {},
  });
  assert.deepEqual(await agent.receive(), { kind: "data", bytes: new Uint8Array([1, 2, 3]) });
  assert.deepEqual(await agent.receive(), { kind: "data", bytes: new Uint8Array(0) });
  assert.equal(control(await host.receive()).t, "event");
  assert.deepEqual(control(await host.receive()), { t: "result", id: 1, result: { apps: [] } });
  host.close();
  agent.close();
});

Deno.test("Channel.send() calls made at once never interleave and arrive in call order", async (t) => {
  for (const bytes of [false, true]) {
    await t.step(bytes ? "byte streams (BYOB reads)" : "chunk streams", async () => {
      const { host, agent, pair } = await channelPair(memoryPair({ bytes }));
      const sizes = [MAX_BODY, 1, 256 * 1024, 0, 70_000, 3, MAX_BODY - 1, 17];
      await Promise.all([
        ...sizes.map((n, i) => host.sendData(new Uint8Array(n).fill(i))),
        host.send({ t: "ping", n: 7 }),
      ]);
      assert.equal(pair.toAgent.seen.length, sizes.length + 1); // one write per frame
      for (const [i, n] of sizes.entries()) {
        const got = await agent.receive();
        assert.equal(got.kind, "data");
        if (got.kind !== "data") continue;
        assert.equal(got.bytes.length, n);
        assert.ok(got.bytes.every((b) => b === i));
      }
      assert.deepEqual(control(await agent.receive()), { t: "ping", n: 7 });
      host.close();
      agent.close();
    });
  }
});

Deno.test("Channel: large frames sent one after another reuse buffers and arrive intact", async () => {
  // Sender and reader each keep the last large frame's buffer for the next (frame.ts REUSE_MIN):
  // larger, smaller and equal sizes in turn, each frame filled with its own value.
  const { host, agent } = await channelPair(memoryPair({ bytes: true }));
  const sizes = [256 * 1024, 20_000, MAX_BODY, 256 * 1024, 256 * 1024, 16 * 1024, 100, MAX_BODY];
  const received = (async () => {
    for (const [i, n] of sizes.entries()) {
      const got = await agent.receive();
      if (got.kind !== "data") return assert.fail("expected DATA");
      assert.equal(got.bytes.length, n);
      assert.ok(got.bytes.every((b) => b === i + 1), `frame ${i} (${n} bytes) is intact`);
    }
  })();
  for (const [i, n] of sizes.entries()) await host.sendData(new Uint8Array(n).fill(i + 1));
  await received;
  host.close();
  agent.close();
});

Deno.test("Channel.sendData() refuses more than MAX_BODY bytes (frame_too_large)", async () => {
  const { host, agent } = await channelPair();
  await assert.rejects(
    host.sendData(new Uint8Array(MAX_BODY + 1)),
    code("transport.frame_too_large"),
  );
  host.close();
  agent.close();
});

Deno.test("Channel.receive() refuses a frame with a bad MAC (unauthenticated) and closes", async () => {
  const { host, agent, pair } = await channelPair();
  pair.toAgent.pass = false;
  await host.send({ t: "ping", n: 1 });
  const frame = pair.toAgent.seen[0];
  frame[frame.length - 1] ^= 1;
  pair.toAgent.inject(frame);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  assert.ok(agent.closed);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  await assert.rejects(agent.send({ t: "pong", n: 1 }), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses a tampered body (unauthenticated)", async () => {
  const { host, agent, pair } = await channelPair();
  pair.toAgent.pass = false;
  await host.sendData(new Uint8Array([1, 2, 3, 4]));
  const frame = pair.toAgent.seen[0];
  frame[HEADER_SIZE] ^= 0x80;
  pair.toAgent.inject(frame);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses a replayed frame (unauthenticated)", async () => {
  const { host, agent, pair } = await channelPair();
  await host.send({ t: "call", id: 1, method: "uninstall", request: { name: "notes" } });
  assert.equal(control(await agent.receive()).t, "call");
  pair.toAgent.inject(pair.toAgent.seen[0]);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses reordered frames (unauthenticated)", async () => {
  const { host, agent, pair } = await channelPair();
  pair.toAgent.pass = false;
  await host.send({ t: "ping", n: 1 });
  await host.send({ t: "ping", n: 2 });
  pair.toAgent.inject(pair.toAgent.seen[1]);
  pair.toAgent.inject(pair.toAgent.seen[0]);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses a frame reflected back to its sender (unauthenticated)", async () => {
  const { host, agent, pair } = await channelPair();
  pair.toHost.pass = false;
  // seq 0 in both directions: only the direction keys tell the reflected frame apart
  await agent.send({ t: "bye" });
  pair.toAgent.inject(pair.toHost.seen[0]);
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses an injected handshake frame (unauthenticated)", async () => {
  const { host, agent, pair } = await channelPair();
  pair.toAgent.inject(encodePlainFrame(FrameType.WELCOME, new TextEncoder().encode("{}")));
  await assert.rejects(agent.receive(), code("transport.unauthenticated"));
  host.close();
});

Deno.test("Channel.receive() refuses a well-MACed message of the wrong direction or shape (bad_frame)", async (t) => {
  for (
    const msg of [
      { t: "pong", n: 1 }, // an agent message sent by the host
      { t: "ping", n: -1 },
      { t: "call", id: 1, method: "list", request: {}, extra: true },
    ]
  ) {
    await t.step(JSON.stringify(msg), async () => {
      const { host, agent } = await channelPair();
      await host.send(msg as never);
      await assert.rejects(agent.receive(), code("transport.bad_frame"));
      host.close();
    });
  }
});

Deno.test("Channel.receive() reports the peer closing as transport.closed", async () => {
  const { host, agent } = await channelPair();
  host.close();
  await assert.rejects(agent.receive(), code("transport.closed"));
  await assert.rejects(agent.send({ t: "bye" }), code("transport.closed"));
  await assert.rejects(host.send({ t: "bye" }), code("transport.closed"));
});

Deno.test("Channel.receive() times out without closing the channel", async () => {
  const { host, agent } = await channelPair();
  await assert.rejects(agent.receive(30), code("transport.timeout"));
  assert.ok(!agent.closed);
  await host.send({ t: "ping", n: 3 });
  assert.deepEqual(control(await agent.receive(1000)), { t: "ping", n: 3 });
  host.close();
  agent.close();
});
