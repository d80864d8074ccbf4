/**
 * The bad-input list of issue 9, end to end: each attack on a real `nx agent` subprocess names
 * the code it expects, then checks that the agent's root did not change and that an authorised
 * host is still served (`nx pkg list --transport …`). The attackers are a TCP relay in the middle
 * of a real host, raw sockets, and in-process clients built on core/transport's handshake and
 * channel (the agent is always the real binary). The unit tests of core/transport and
 * core/agent check the same rules in-process; here they hold through the CLI and its process.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ERROR_TABLE, type ErrorCode, EXIT_CLASSES } from "../core/errors.ts";
import {
  encodeHeader,
  encodePlainFrame,
  FrameType,
  MAX_BODY,
  toBase64,
} from "../core/transport/mod.ts";
import { copyFixture, FIXTURES, notesWithMigration, nx, type NxRun } from "./helpers.ts";
import { auditLog, cloneRoot, doctorClean, observe, preparedRoot } from "./_roots.ts";
import { exists } from "../core/store/mod.ts";
import {
  Agent,
  authorizedKeys,
  frames,
  hangUp,
  identityOf,
  newHost,
  nxOn,
  type RawSession,
  rawSession,
  refusal,
  Relay,
  spawnOn,
  untilLockFree,
  writeAll,
} from "./_agent.ts";

const host = await newHost("host");
const intruder = await newHost("intruder");
const keys = await authorizedKeys([host]);
const identity = await identityOf(host);
/** notes 1.0.0 installed; each test serves a copy of it. */
const template = await preparedRoot([["install", "notes-1.0.0"]]);

/** An agent on a fresh copy of the template, and the root's state before the attack. */
async function target(args: string[] = []) {
  const root = await cloneRoot(template);
  const before = await observe(root);
  const agent = await Agent.start({ root, authorizedKeys: keys, args });
  return { agent, before, root, [Symbol.asyncDispose]: () => agent[Symbol.asyncDispose]() };
}

/** `nx <args> --json` as the authorised host on `agent`, which must succeed. */
async function okOn(agent: Agent, args: string[]): Promise<NxRun> {
  const r = await nxOn(host, [agent.address], [...args, "--json"]);
  assert.equal(r.json?.code, "ok", `${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

/** The next message on a raw session, which must be a control message. */
// deno-lint-ignore no-explicit-any
async function nextMessage(session: RawSession): Promise<any> {
  const got = await session.channel.receive();
  assert.equal(got.kind, "control");
  return got.kind === "control" ? got.msg : undefined;
}

const failsWith = (code: ErrorCode) => (e: unknown) => (e as { code?: string }).code === code;

function exitOf(code: ErrorCode): number {
  return EXIT_CLASSES[ERROR_TABLE[code].exitClass];
}

function assertFails(r: NxRun, code: ErrorCode) {
  assert.equal(r.json?.code, code, r.stdout + r.stderr);
  assert.equal(r.code, exitOf(code));
}

/** Nothing changed on the agent's root, and an authorised host is served. */
async function assertIntact(agent: Agent, before: string) {
  assert.equal(await observe(agent.root), before, "the agent's root changed");
  const r = await okOn(agent, ["pkg", "list"]);
  assert.deepEqual(r.json?.data.apps.map((a: { id: string }) => a.id), ["notes"]);
}

/** The agent warned about a failed connection with `code` since `mark` (after a barrier). */
async function assertWarned(agent: Agent, mark: number, code: ErrorCode) {
  await agent.sync();
  assert.ok(agent.warnings(mark).includes(code), agent.since(mark).join("\n"));
}

const text = new TextEncoder();
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("random bytes instead of a handshake: REFUSE transport.bad_frame", async () => {
  await using t = await target();
  const { agent, before } = t;
  const mark = agent.mark();
  const conn = await agent.connect();
  const noise = crypto.getRandomValues(new Uint8Array(256));
  noise[0] = 0; // never the magic "NX"
  await writeAll(conn, noise);
  const reply = frames(conn);
  assert.equal(refusal(await reply.next()), "transport.bad_frame");
  assert.equal(await reply.next(), null, "the agent closes the connection");
  hangUp(conn);
  await assertWarned(agent, mark, "transport.bad_frame");
  await assertIntact(agent, before);
});

Deno.test("a valid handshake with an unauthorised key: the host gets transport.unauthenticated", async () => {
  await using t = await target();
  const { agent, before } = t;
  const mark = agent.mark();
  const bundle = await copyFixture("notes-1.1.0");
  assertFails(
    await nxOn(intruder, [agent.address], ["pkg", "upgrade", bundle, "--json"]),
    "transport.unauthenticated",
  );
  await assertWarned(agent, mark, "transport.unauthenticated");
  await assertIntact(agent, before);
});

Deno.test("a replayed handshake of a real host's uninstall: transport.unauthenticated", async () => {
  await using t = await target();
  const { agent } = t;
  const relay = new Relay(agent);
  const recorded = await nxOn(host, [relay.address], ["pkg", "uninstall", "notes", "--json"]);
  assert.equal(recorded.json?.code, "ok", recorded.stdout + recorded.stderr); // through the relay
  await relay.done;
  const types = relay.toAgent.map((f) => f[3]);
  assert.deepEqual(types.slice(0, 3), [FrameType.HELLO, FrameType.AUTH, FrameType.CONTROL]);
  await okOn(agent, ["pkg", "install", await copyFixture("notes-1.0.0")]);
  const before = await observe(agent.root);

  const mark = agent.mark();
  const conn = await agent.connect();
  await writeAll(conn, new Uint8Array(relay.toAgent.flatMap((f) => [...f])));
  const reply = frames(conn);
  assert.equal((await reply.next())?.type, FrameType.CHALLENGE, "a fresh challenge");
  assert.equal(refusal(await reply.next()), "transport.unauthenticated");
  assert.equal(await reply.next(), null);
  hangUp(conn);
  await assertWarned(agent, mark, "transport.unauthenticated");
  await assertIntact(agent, before);
});

/** Flips the last body byte of the first CONTROL frame a relay sees in its direction. */
function flipFirstControl() {
  let flipped = false;
  return (frame: Uint8Array) => {
    if (flipped || frame[3] !== FrameType.CONTROL) return undefined;
    flipped = true;
    const send = frame.slice();
    send[send.length - 32 - 1] ^= 0x01;
    return { send };
  };
}

Deno.test("a host→agent frame with a wrong MAC: the agent closes (unauthenticated), the host gets transport.closed", async () => {
  await using t = await target();
  const { agent, before } = t;
  const mark = agent.mark();
  const relay = new Relay(agent, { toAgent: flipFirstControl() });
  assertFails(
    await nxOn(host, [relay.address], ["pkg", "uninstall", "notes", "--json"]),
    "transport.closed",
  );
  await relay.done;
  await assertWarned(agent, mark, "transport.unauthenticated");
  await assertIntact(agent, before);
});

Deno.test("an agent→host frame with a wrong MAC: the host refuses it (transport.unauthenticated)", async () => {
  await using t = await target();
  const { agent, before } = t;
  const relay = new Relay(agent, { toHost: flipFirstControl() });
  assertFails(
    await nxOn(host, [relay.address], ["pkg", "list", "--json"]),
    "transport.unauthenticated",
  );
  await relay.done;
  await assertIntact(agent, before);
});

Deno.test("a frame over the size limit: transport.frame_too_large, never read", async () => {
  await using t = await target();
  const { agent, before } = t;
  const mark = agent.mark();
  const session = await rawSession(agent, identity);
  await session.raw(encodeHeader(FrameType.CONTROL, MAX_BODY + 1));
  await assert.rejects(session.channel.receive(), failsWith("transport.closed"));
  session.close();
  await assertWarned(agent, mark, "transport.frame_too_large");

  const conn = await agent.connect(); // before the handshake: a HELLO of 16 MiB
  await writeAll(conn, encodeHeader(FrameType.HELLO, 16 * MAX_BODY));
  assert.equal(refusal(await frames(conn).next()), "transport.frame_too_large");
  hangUp(conn);
  await assertIntact(agent, before);
});

Deno.test("a length field larger than what follows, then silence: the agent's timeouts close it (transport.timeout)", async () => {
  await using t = await target(["--handshake-timeout", "2000", "--idle-timeout", "2000"]);
  const { agent, before } = t;
  const mark = agent.mark();
  const conn = await agent.connect();
  await writeAll(conn, encodePlainFrame(FrameType.HELLO, new Uint8Array(100)).subarray(0, 40));
  const reply = frames(conn);
  assert.equal(refusal(await reply.next()), "transport.timeout");
  assert.equal(await reply.next(), null);
  hangUp(conn);

  const session = await rawSession(agent, identity);
  await session.raw(encodeHeader(FrameType.CONTROL, 100));
  await session.raw(new Uint8Array(10));
  const bye = await nextMessage(session);
  assert.deepEqual([bye.t, bye.error?.code], ["bye", "transport.timeout"]);
  await assert.rejects(session.channel.receive(), failsWith("transport.closed"));
  session.close();
  await assertWarned(agent, mark, "transport.timeout");
  await assertIntact(agent, before);
});

Deno.test("an unknown protocol version: REFUSE transport.protocol_version", async () => {
  await using t = await target();
  const { agent, before } = t;
  const hello = (v: number) =>
    text.encode(JSON.stringify({
      v,
      nonce: toBase64(crypto.getRandomValues(new Uint8Array(32))),
      eph: toBase64(crypto.getRandomValues(new Uint8Array(32))),
      key: toBase64(identity.publicKey),
    }));
  const inHeader = encodePlainFrame(FrameType.HELLO, hello(1));
  inHeader[2] = 2;
  for (const frame of [inHeader, encodePlainFrame(FrameType.HELLO, hello(2))]) {
    const conn = await agent.connect();
    await writeAll(conn, frame);
    assert.equal(refusal(await frames(conn).next()), "transport.protocol_version");
    hangUp(conn);
  }
  await assertIntact(agent, before);
});

Deno.test("a call for an unknown method (agent.unknown_method) and params that fail the schema (agent.invalid_request); the connection goes on", async () => {
  await using t = await target();
  const { agent, before } = t;
  const session = await rawSession(agent, identity);
  const call = async (id: number, method: string, request: unknown) => {
    await session.channel.send({ t: "call", id, method, request });
    return await nextMessage(session);
  };
  assert.equal((await call(1, "formatDisk", {})).error?.code, "agent.unknown_method");
  const badParams = await call(2, "uninstall", { app: 42, purge: "yes" });
  assert.equal(badParams.error?.code, "agent.invalid_request");
  const agentPath = await call(3, "install", { bundle: { kind: "path", path: "/etc" } });
  assert.equal(agentPath.error?.code, "agent.invalid_request");
  const list = await call(4, "list", {});
  assert.deepEqual(list.result.map((a: { id: string }) => a.id), ["notes"]);
  await session.channel.send({ t: "bye" });
  session.close();
  await assertIntact(agent, before);
});

Deno.test("uploaded bytes that do not match their digest, and more bytes than announced: agent.upload_mismatch", async () => {
  await using t = await target();
  const { agent, before, root } = t;
  const session = await rawSession(agent, identity);
  const receive = () => nextMessage(session);
  const content = text.encode("manifest bytes");
  const offer = async (id: number) => {
    await session.channel.send({
      t: "offer",
      id,
      files: [{ path: "manifest.nxb", size: content.length, sha256: sha256(content) }],
    });
    assert.deepEqual(await receive(), { t: "need", id, files: [0] });
  };
  await offer(1);
  await session.channel.sendData(text.encode("manifest bytez"));
  assert.equal((await receive()).error?.code, "agent.upload_mismatch");

  await offer(2);
  await session.channel.sendData(content);
  assert.equal((await receive()).t, "stored");
  await session.channel.sendData(text.encode("and more"));
  assert.equal((await receive()).error?.code, "agent.upload_mismatch");

  await offer(3); // a longer last frame: its extra bytes
  await session.channel.sendData(new Uint8Array([...content, 0x0a]));
  assert.equal((await receive()).error?.code, "agent.upload_mismatch");
  session.close();
  await assertIntact(agent, before);
  await agent.stop();
  assert.deepEqual([...Deno.readDirSync(join(root, "pkg", "uploads"))], [], "no upload is left");
});

/** Old or new: the state before, or notes 1.1.0 current; and doctor finds nothing. */
async function assertOldOrNew(root: string, before: string) {
  const now = await observe(root);
  const current = await Deno.readLink(join(root, "apps/notes/current")).catch(() => null);
  assert.ok(now === before || current === "versions/1.1.0", `neither old nor new:\n${now}`);
  await doctorClean(root);
}

Deno.test("a host SIGKILLed mid-upload: the root is unchanged, the next upgrade works", async () => {
  await using t = await target();
  const { agent, before, root } = t;
  // The relay passes half of the first DATA frame, then holds: the upload is under way.
  const relay = new Relay(agent, {
    toAgent: (frame) =>
      frame[3] === FrameType.DATA
        ? { send: frame.subarray(0, frame.length >> 1), hold: true }
        : undefined,
  });
  const child = spawnOn(host, relay.address, ["pkg", "upgrade", await copyFixture("notes-1.1.0")]);
  await relay.held;
  child.kill("SIGKILL");
  await child.status;
  await relay.done;
  await assertIntact(agent, before);
  await doctorClean(root);
  await okOn(agent, ["pkg", "upgrade", await copyFixture("notes-1.1.0")]);
  await agent.stop();
  assert.deepEqual([...Deno.readDirSync(join(root, "pkg", "uploads"))], [], "no upload is left");
});

/**
 * notes 1.1.0 whose migration writes `started` in its data directory and then waits for `go`
 * there: the upgrade is mid-transaction for as long as the test wants.
 */
const HELD_MIGRATION = `const dir = Deno.args[0];
await Deno.writeTextFile(dir + "/started", "");
for (;;) {
  try {
    await Deno.stat(dir + "/go");
    break;
  } catch { /* not yet */ }
  await new Promise((r) => setTimeout(r, 10));
}`;

/** The data directory of a held migration, once it has started (polls the staging area). */
async function heldMigration(root: string): Promise<string> {
  const staging = join(root, "pkg", "staging");
  const find = async (dir: string): Promise<string | undefined> => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      if (e.isFile && e.name === "started") return dir;
      if (e.isDirectory) {
        const found = await find(path).catch(() => undefined);
        if (found) return found;
      }
    }
    return undefined;
  };
  for (;;) {
    const found = await find(staging).catch(() => undefined);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("a host SIGKILLed mid-install: the agent's root is old or new, doctor is clean, the next install works", async () => {
  const bundle = await notesWithMigration(HELD_MIGRATION);
  await using t = await target();
  const { agent, before, root } = t;
  const child = spawnOn(host, agent.address, ["pkg", "upgrade", bundle]);
  const data = await heldMigration(root);
  child.kill("SIGKILL");
  await child.status;
  await Deno.writeTextFile(join(data, "go"), "");
  await untilLockFree(root);
  await assertOldOrNew(root, before);
  // The dropped connection cancelled the call (rolled back), unless it had finished already.
  const last = (await auditLog(root)).at(-1)!;
  const old = (await observe(root)) === before;
  assert.deepEqual([last.op, last.result], ["upgrade", old ? "op.cancelled" : "ok"]);
  await okOn(agent, ["pkg", "uninstall", "notes"]);
  await okOn(agent, ["pkg", "install", await copyFixture("notes-1.0.0")]);
});

Deno.test("an agent SIGKILLed mid-install: the restarted agent recovers on the next operation", async () => {
  const bundle = await notesWithMigration(HELD_MIGRATION);
  await using t = await target();
  const { agent, before, root } = t;
  const child = spawnOn(host, agent.address, ["pkg", "upgrade", bundle]);
  await heldMigration(root);
  await agent.kill();
  assert.equal((await child.status).code, exitOf("transport.closed"));
  assert.ok(await exists(join(root, "pkg", "journal")), "the transaction is left in the journal");

  await using again = await Agent.start({ root, authorizedKeys: keys });
  const list = await okOn(again, ["pkg", "list"]);
  assert.match(list.stderr, /\(journal\.recovered\)$/m, "the host hears of the recovery");
  assert.equal(await observe(root), before, "rolled back to the old state");
  assert.equal((await auditLog(root)).at(-1)?.op, "recover");
  await doctorClean(root);
  await okOn(again, ["pkg", "upgrade", await copyFixture("notes-1.1.0")]);
});

Deno.test("200 idle connections: the agent still serves; one over --max-connections gets agent.busy", async () => {
  await using t = await target(["--max-connections", "201"]);
  const { agent, before } = t;
  const crowd = await Promise.all(Array.from({ length: 200 }, () => agent.connect()));
  // Accepted after the 200 (one listener accepts in order), and kept open: the 201st.
  const session = await rawSession(agent, identity);
  await session.channel.send({ t: "call", id: 1, method: "list", request: {} });
  assert.equal((await nextMessage(session)).t, "result");
  const busy = await agent.connect();
  assert.equal(refusal(await frames(busy).next()), "agent.busy");
  hangUp(busy);
  assertFails(await nxOn(host, [agent.address], ["pkg", "list", "--json"]), "agent.busy");

  const mark = agent.mark();
  for (const conn of crowd) hangUp(conn);
  session.close();
  await agent.until(() =>
    agent.warnings(mark).filter((c) => c === "transport.closed").length >= 200
  );
  await assertIntact(agent, before);
});

Deno.test("a slowloris client (a HELLO byte every 100 ms) is cut off by the handshake timeout", async () => {
  await using t = await target(["--handshake-timeout", "600"]);
  const { agent, before } = t;
  const mark = agent.mark();
  const conn = await agent.connect();
  const hello = encodePlainFrame(
    FrameType.HELLO,
    text.encode(JSON.stringify({
      v: 1,
      nonce: toBase64(new Uint8Array(32)),
      eph: toBase64(new Uint8Array(32)),
      key: toBase64(identity.publicKey),
    })),
  );
  let sent = 0;
  let cutOff = false;
  const drip = (async () => {
    for (; sent < hello.length && !cutOff; sent++) {
      await writeAll(conn, hello.subarray(sent, sent + 1));
      await new Promise((r) => setTimeout(r, 100)); // the attack's pace, not a wait for the agent
    }
  })().catch(() => {});
  assert.equal(refusal(await frames(conn).next()), "transport.timeout");
  cutOff = true;
  await drip;
  hangUp(conn);
  assert.ok(sent < hello.length, `the agent waited for all ${sent} bytes`);
  await assertWarned(agent, mark, "transport.timeout");
  await assertIntact(agent, before);
});

Deno.test("an admin method without --allow-admin: agent.forbidden, trust and policy unchanged", async () => {
  await using t = await target();
  const { agent, before, root } = t;
  const trusted = await nx(["pkg", "trust", "list", "--json"], { root });
  const policy = await nx(["pkg", "policy", "show", "--json"], { root });
  const store = join(FIXTURES, "keys", "store.pub");
  for (
    const args of [
      ["pkg", "trust", "add", store, "--json"],
      ["pkg", "trust", "remove", "dev", "--json"],
      ["pkg", "policy", "set", "dev-mode", "on", "--json"],
    ]
  ) {
    assertFails(await nxOn(host, [agent.address], args), "agent.forbidden");
  }
  assert.equal((await nx(["pkg", "trust", "list", "--json"], { root })).stdout, trusted.stdout);
  assert.equal((await nx(["pkg", "policy", "show", "--json"], { root })).stdout, policy.stdout);
  await assertIntact(agent, before);
});
