import assert from "node:assert/strict";
import { join } from "node:path";
import type { ProgressEvent } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { acquireLock, exists } from "../store/mod.ts";
import {
  type ByteStream,
  connect,
  connectHandshake,
  DEFAULT_TIMEOUTS,
  parseTarget,
  remotePkgr,
  Session,
} from "../transport/mod.ts";
import { keyPairFromSeed, seed } from "../transport/_testing.ts";
import { findHello } from "./listeners.ts";
import { type AgentOptions, loadAuthorizedKeys, startAgent } from "./server.ts";
import { callContext, fixtureCopy, FIXTURES, freshRoot, rootWith, tempDir } from "./_testing.ts";
import { uploadsDir } from "./uploads.ts";

const HOST = keyPairFromSeed(seed(5));
const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;
const markers = (events: ProgressEvent[]) =>
  events.flatMap((e) => e.kind === "marker" ? [e.text] : []);

async function agentOn(root: string, o: Partial<AgentOptions> = {}) {
  const log: ProgressEvent[] = [];
  const agent = await startAgent({
    root,
    listen: ["tcp:127.0.0.1:0"],
    authorizedKeys: [HOST.publicKey],
    reporter: { emit: (e) => log.push(e) },
    ...o,
  });
  return { agent, log };
}

const session = (address: string) => connect(parseTarget(address), { identity: HOST });

/** Everything the agent sends on a raw connection until it closes it (the stream ends it). */
async function readToEnd(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of conn.readable) chunks.push(chunk);
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

/** The code of the REFUSE frame `bytes` start with. */
function refusal(bytes: Uint8Array): string {
  assert.ok(bytes.length >= 8, `got ${bytes.length} bytes`);
  assert.equal(bytes[3], 5, "a REFUSE frame");
  const length = new DataView(bytes.buffer, 4, 4).getUint32(0);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))).code;
}

Deno.test("startAgent() serves a root over 127.0.0.1 TCP and says when it is ready", async () => {
  const { paths } = await rootWith([]);
  const { agent, log } = await agentOn(paths.root);
  const [address] = agent.addresses;
  assert.match(address, /^tcp:127\.0\.0\.1:[1-9][0-9]*$/);
  assert.deepEqual(markers(log), [
    `agent: listening ${address}`,
    "bundlemgrd: ready",
    "policy: packages enforce on",
    "pkgr: ready",
  ]);

  const host = await session(address);
  const remote = remotePkgr(host);
  const bundle = await fixtureCopy("notes-1.0.0");
  const op = await remote.install({ bundle: { kind: "path", path: bundle } }, callContext());
  assert.equal(op.appId, "notes");
  assert.deepEqual((await remote.list({}, callContext())).map((a) => `${a.id}@${a.version}`), [
    "notes@1.0.0",
  ]);
  assert.ok(markers(log).includes("bundle: install ok notes@1.0.0"));
  await host.close();
  await agent.shutdown();
  await agent.closed;
  assert.deepEqual([...Deno.readDirSync(uploadsDir(paths))], [], "no upload outlives the agent");
});

Deno.test("startAgent() on a root that is not strict prints pkgr: ready only", async () => {
  const { paths, pkgr } = await rootWith([]);
  await pkgr.policySet({ key: "mode", value: "permissive" }, callContext());
  const { agent, log } = await agentOn(paths.root);
  assert.deepEqual(markers(log), [`agent: listening ${agent.addresses[0]}`, "pkgr: ready"]);
  await agent.shutdown();
});

Deno.test("startAgent() trusts its trust keys before it listens; held or bad keys do not stop it", async () => {
  const { paths, pkgr } = await rootWith([]); // trusts dev.pub already
  const key = (name: string) => Deno.readTextFile(join(FIXTURES, "keys", `${name}.pub`));
  const trust = {
    publishers: [await key("dev"), await key("store"), "not a key"],
    stores: [await key("licensing")],
  };
  const { agent, log } = await agentOn(paths.root, { trust });
  const publishers = (await pkgr.trustList({}, callContext())).map((p) => p.id).sort();
  const stores = (await pkgr.licensedTrustList({}, callContext())).map((k) => k.id);
  assert.deepEqual(markers(log).slice(0, 4), [
    ...publishers.map((id) => `agent: trusted publisher ${id}`),
    `agent: trusted store key ${stores[0]}`,
    `agent: listening ${agent.addresses[0]}`,
  ]);
  const warnings = log.flatMap((e) => e.kind === "warning" ? [e.code] : []);
  assert.deepEqual(warnings, ["policy.already_trusted", "key.invalid"]);
  await agent.shutdown();

  // Again: every key is held; each is said trusted, nothing is added twice.
  const again = await agentOn(paths.root, { trust });
  assert.equal(markers(again.log).filter((m) => m.startsWith("agent: trusted ")).length, 3);
  assert.equal((await pkgr.trustList({}, callContext())).length, 2);
  await again.agent.shutdown();
});

Deno.test("startAgent() removes the uploads a crashed agent left behind", async () => {
  const { paths } = await rootWith([]);
  const left = join(uploadsDir(paths), "0123456789abcdef0123456789abcdef");
  await Deno.mkdir(join(left, "assets"), { recursive: true });
  await Deno.writeTextFile(join(left, "assets", "x"), "half an upload");
  const { agent } = await agentOn(paths.root);
  assert.equal(await exists(left), false);
  await agent.shutdown();
});

Deno.test("startAgent() refuses what it cannot serve", async (t) => {
  const root = (await freshRoot()).root;
  await t.step("a --listen that is not an address", async () => {
    await assert.rejects(
      agentOn(root, { listen: ["udp:1.2.3.4:5"] }),
      (e) => code(e) === "transport.invalid_target",
    );
  });
  await t.step("no host key", async () => {
    await assert.rejects(
      agentOn(root, { authorizedKeys: [] }),
      (e) => code(e) === "usage.invalid_argument",
    );
  });
  await t.step("a serial line that does not exist", async () => {
    const path = join(await tempDir(), "missing");
    await assert.rejects(
      agentOn(root, { listen: [`serial:${path}`] }),
      (e) => code(e) === "transport.unreachable",
    );
  });
  assert.equal(await exists(root), false, "nothing created");
});

Deno.test("a connection over the limit is refused with agent.busy; the others are served", async () => {
  const { paths } = await rootWith([]);
  const { agent } = await agentOn(paths.root, { limits: { maxConnections: 1 } });
  const [address] = agent.addresses;
  const first = await session(address);
  await assert.rejects(session(address), (e) => code(e) === "agent.busy");
  assert.deepEqual(await remotePkgr(first).list({}, callContext()), []);
  await first.close();
  // Once the agent has seen the first one go, there is room again.
  for (;;) {
    const next = await session(address).catch((e) => e);
    if (next instanceof Session) {
      await next.close();
      break;
    }
    assert.equal(code(next), "agent.busy");
    await new Promise((r) => setTimeout(r, 10));
  }
  await agent.shutdown();
});

/** The first bytes the agent sends on `conn` (a refusal lingers until its peer closes). */
async function firstBytes(conn: Deno.Conn): Promise<Uint8Array> {
  const reader = conn.readable.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  try {
    conn.close();
  } catch { /* closed with its stream */ }
  return value ?? new Uint8Array();
}

Deno.test("while maxConnections refusals linger, one more connection is closed at once", async () => {
  const { paths } = await rootWith([]);
  // A refusal lingers until its peer closes (the minute is a bound never reached here).
  const { agent } = await agentOn(paths.root, {
    limits: { maxConnections: 1, refuseLingerMs: 60_000 },
  });
  const { port } = parseTarget(agent.addresses[0]) as { port: number };
  const raw = () => Deno.connect({ hostname: "127.0.0.1", port });
  const served = await session(agent.addresses[0]);
  const refused = await raw();
  const reader = refused.readable.getReader();
  assert.equal(refusal((await reader.read()).value!), "agent.busy"); // it lingers from now on
  assert.equal((await readToEnd(await raw())).length, 0, "closed without a word");
  await reader.cancel(); // closes the connection: the refusal sees its peer go
  // The refusal ended with its peer: the next connection over the limit is refused again.
  for (;;) {
    const bytes = await firstBytes(await raw());
    if (bytes.length > 0) {
      assert.equal(refusal(bytes), "agent.busy");
      break;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await served.close();
  await agent.shutdown();
});

Deno.test("random bytes and idle crowds close their connections; a good host is still served", async () => {
  const { paths } = await rootWith([]);
  const { agent, log } = await agentOn(paths.root, {
    limits: { maxConnections: 8, handshakeTimeoutMs: 1_000 },
  });
  const { port } = parseTarget(agent.addresses[0]) as { port: number };
  const raw = () => Deno.connect({ hostname: "127.0.0.1", port });

  const noise = await raw();
  await noise.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  assert.equal(refusal(await readToEnd(noise)), "transport.bad_frame");

  // Opened at once and left idle: the first 8 wait for their handshake to time out, the rest
  // are turned away: REFUSE agent.busy while at most 8 refusals linger, else closed at once.
  const crowd = await Promise.all(Array.from({ length: 40 }, raw));
  const codes = await Promise.all(crowd.map(async (c) => {
    const bytes = await readToEnd(c);
    return bytes.length === 0 ? "closed" : refusal(bytes);
  }));
  assert.equal(codes.filter((c) => c === "transport.timeout").length, 8);
  assert.ok(codes.filter((c) => c === "agent.busy").length >= 8, codes.join(" "));
  assert.equal(codes.filter((c) => c === "agent.busy" || c === "closed").length, 32);

  const good = await session(agent.addresses[0]);
  assert.deepEqual(await remotePkgr(good).list({}, callContext()), []);
  await good.close();
  await agent.shutdown();
  assert.ok(log.some((e) => e.kind === "warning" && e.code === "transport.bad_frame"));
});

/** A host's view of a serial line: sessions in turn over one connection (never closed by them). */
function hostLine(conn: Deno.Conn) {
  const reader = conn.readable.getReader();
  const writer = conn.writable.getWriter();
  const view = (): ByteStream => ({
    readable: new ReadableStream<Uint8Array>({
      async pull(c) {
        const r = await reader.read();
        if (r.done) c.close();
        else c.enqueue(r.value);
      },
    }, { highWaterMark: 0 }),
    writable: new WritableStream<Uint8Array>({ write: (chunk) => writer.write(chunk) }),
    close() {},
  });
  const open = async () =>
    new Session(
      "serial",
      await connectHandshake(view(), { identity: HOST, target: "serial" }),
      DEFAULT_TIMEOUTS,
    );
  return { open, write: (bytes: Uint8Array) => writer.write(bytes) };
}

Deno.test("a serial line carries one session after another, resynchronising on HELLO", async () => {
  const { paths } = await rootWith([]);
  const path = join(await tempDir(), "line.sock");
  const line = Deno.listen({ transport: "unix", path });
  const { agent, log } = await agentOn(paths.root, {
    listen: [`serial:${path}`],
    limits: { serialReopenMs: 5 },
  });
  assert.deepEqual(agent.addresses, [`serial:${path}`]);
  const list = async (s: Session) => (await remotePkgr(s).list({}, callContext())).length;

  const conn = await line.accept();
  const host = hostLine(conn);
  const first = await host.open();
  assert.equal(await list(first), 0);
  await first.close(); // bye

  // Line noise (and something that starts like a header) before the next HELLO is skipped.
  await host.write(new Uint8Array([1, 2, 3, 0x4e, 0x58, 0x01, 0x02, 9, 9, 0x4e]));
  const second = await host.open();
  assert.equal(await list(second), 0);

  // A host that vanished without bye (nothing on a serial line says so): the next host's HELLO
  // lands inside the stale session, which fails, and starts the next session.
  const third = await host.open();
  assert.equal(await list(third), 0);
  assert.ok(log.some((e) => e.kind === "warning" && e.code === "transport.unauthenticated"));

  // EOF: the agent opens the line again (here: connects to the socket again).
  conn.close();
  const again = hostLine(await line.accept());
  const fourth = await again.open();
  assert.equal(await list(fourth), 0);
  await fourth.close();
  await agent.shutdown();
  line.close();
});

Deno.test("findHello() finds a HELLO header with a plausible length and a JSON body", () => {
  const hello = [0x4e, 0x58, 1, 1, 0, 0, 0, 20, 0x7b];
  assert.equal(findHello(new Uint8Array([7, 7, ...hello])), 2);
  assert.equal(findHello(new Uint8Array([0x4e, 0x58, 1, 1, 0, 0x10, 0, 0, 0x7b])), -1, "too long");
  assert.equal(findHello(new Uint8Array([0x4e, 0x58, 1, 16, 0, 0, 0, 20, 0x7b])), -1, "CONTROL");
  assert.equal(findHello(new Uint8Array([9, 0x4e, 0x58])), 1, "cut off: more bytes decide");
  assert.equal(findHello(new Uint8Array([...hello, ...hello]), 1, true), 9, "the last one");
});

Deno.test("loadAuthorizedKeys() reads one or more public keys and refuses anything else", async (t) => {
  const dir = await tempDir();
  const keys = join(import.meta.dirname!, "../../fixtures/keys");
  const dev = await Deno.readTextFile(join(keys, "dev.pub"));
  const store = await Deno.readTextFile(join(keys, "store.pub"));
  const file = async (name: string, text: string) => {
    await Deno.writeTextFile(join(dir, name), text);
    return join(dir, name);
  };
  await t.step("two keys with comments", async () => {
    const path = await file("two", `# the build host\n${dev}\n# a laptop\n${store}`);
    assert.equal((await loadAuthorizedKeys(path)).length, 2);
  });
  const rows: [string, string, string][] = [
    ["no key at all", "# nobody yet\n\n", "usage.invalid_argument"],
    ["a secret key", await Deno.readTextFile(join(keys, "dev.key")), "key.invalid"],
    ["other text", `${dev}ssh-ed25519 AAAA…\n`, "key.invalid"],
    ["a broken block", dev.replace("MCowBQYDK2VwAyEA", "MCowBQYDK2VwAyEB"), "key.invalid"],
  ];
  for (const [name, text, expected] of rows) {
    await t.step(name, async () => {
      await assert.rejects(loadAuthorizedKeys(await file(name, text)), (e) => code(e) === expected);
    });
  }
  await t.step("a missing file", async () => {
    await assert.rejects(loadAuthorizedKeys(join(dir, "none")), (e) => code(e) === "key.not_found");
  });
});

Deno.test("writers meet at the root's lock as locally (lock.busy); readers go on", async () => {
  const { paths } = await rootWith([]);
  const { agent } = await agentOn(paths.root);
  const host = await session(agent.addresses[0]);
  const remote = remotePkgr(host);
  const bundle = { kind: "path" as const, path: await fixtureCopy("notes-1.0.0") };
  const lock = await acquireLock(paths, "another writer");
  try {
    await assert.rejects(remote.install({ bundle }, callContext()), (e) => code(e) === "lock.busy");
    assert.deepEqual(await remote.list({}, callContext()), []);
  } finally {
    lock.release();
  }
  assert.equal((await remote.install({ bundle }, callContext())).toVersion, "1.0.0");
  await host.close();
  await agent.shutdown();
});
