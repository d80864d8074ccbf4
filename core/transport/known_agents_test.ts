import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import {
  formatKnownAgent,
  formatKnownAgents,
  KnownAgentsFile,
  lookupKnownAgent,
  parseKnownAgents,
} from "./known_agents.ts";
import { keyPairFromSeed, seed } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;
const A = keyPairFromSeed(seed(1)).publicKey;
const B = keyPairFromSeed(seed(2)).publicKey;
const b64 = (k: Uint8Array) => k.toBase64();

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("parseKnownAgents() reads entries, skipping comments and blank lines", () => {
  const text = [
    "# pinned by nx",
    "",
    `tcp:10.0.0.2:7000 ed25519 ${b64(A)}`,
    `  serial:/dev/vport0p1   ed25519   ${b64(B)}  `,
    `tcp:10.0.0.2:7000 ed25519 ${b64(B)}`,
  ].join("\n");
  const entries = parseKnownAgents(text);
  assert.equal(entries.length, 3);
  assert.deepEqual(lookupKnownAgent(entries, "tcp:10.0.0.2:7000"), [A, B]);
  assert.deepEqual(lookupKnownAgent(entries, "serial:/dev/vport0p1"), [B]);
  assert.deepEqual(lookupKnownAgent(entries, "tcp:10.0.0.3:7000"), []);
});

Deno.test("formatKnownAgents() round-trips through parseKnownAgents()", () => {
  const entries = [{ target: "tcp:h:1", key: A }, { target: "serial:/tmp/s", key: B }];
  assert.deepEqual(parseKnownAgents(formatKnownAgents(entries)), entries);
  assert.equal(formatKnownAgent(entries[0]), `tcp:h:1 ed25519 ${b64(A)}\n`);
});

Deno.test("formatKnownAgent() refuses a target it could not read back (invalid_target)", () => {
  for (const target of ["", "tcp:a b:1", "#tcp:h:1"]) {
    assert.throws(() => formatKnownAgent({ target, key: A }), code("transport.invalid_target"));
  }
});

Deno.test("parseKnownAgents() refuses a malformed line instead of skipping it (key.invalid)", async (t) => {
  const table: [string, string][] = [
    ["two fields", `tcp:h:1 ${b64(A)}`],
    ["four fields", `tcp:h:1 ed25519 ${b64(A)} extra`],
    ["another key type", `tcp:h:1 ssh-rsa ${b64(A)}`],
    ["short key", `tcp:h:1 ed25519 ${b64(A.subarray(0, 31))}`],
    ["not base64", `tcp:h:1 ed25519 ${"!".repeat(43)}=`],
    ["non-canonical padding bits", `tcp:h:1 ed25519 ${b64(A).slice(0, 42)}B=`],
    ["small-order point", `tcp:h:1 ed25519 ${b64(new Uint8Array(32).fill(0).fill(1, 0, 1))}`],
  ];
  for (const [name, line] of table) {
    await t.step(name, () => {
      assert.throws(() => parseKnownAgents(`# ok\n${line}\n`), (e: unknown) => {
        assert.ok(code("key.invalid")(e));
        assert.equal((e as NxError).details?.line, 2);
        return true;
      });
    });
  }
});

Deno.test("KnownAgentsFile.load() of a missing file knows nothing", async () => {
  await withDir(async (dir) => {
    const known = await KnownAgentsFile.load(join(dir, "known_agents"));
    assert.deepEqual(known.lookup("tcp:h:1"), []);
  });
});

Deno.test("KnownAgentsFile.record() appends atomically, keeping comments and other writers' lines", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "config", "nx", "known_agents");
    const known = await KnownAgentsFile.load(path);
    await known.record("tcp:h:1", A);
    assert.deepEqual(known.lookup("tcp:h:1"), [A]);
    // another process adds a comment and an entry (no trailing newline) after our load
    await Deno.writeTextFile(
      path,
      `# mine\n${await Deno.readTextFile(path)}other:x ed25519 ${b64(B)}`,
    );
    await Promise.all([known.record("tcp:h:2", B), known.record("tcp:h:3", A)]);
    await known.record("tcp:h:2", B); // already there: unchanged
    assert.equal(
      await Deno.readTextFile(path),
      `# mine\ntcp:h:1 ed25519 ${b64(A)}\nother:x ed25519 ${b64(B)}\n` +
        `tcp:h:2 ed25519 ${b64(B)}\ntcp:h:3 ed25519 ${b64(A)}\n`,
    );
    assert.deepEqual(known.lookup("other:x"), [B]);
    const names = [];
    for await (const e of Deno.readDir(join(dir, "config", "nx"))) names.push(e.name);
    assert.deepEqual(names, ["known_agents"]); // no temp file left behind
  });
});

Deno.test("KnownAgentsFile.load() refuses a corrupt file (key.invalid)", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "known_agents");
    await Deno.writeTextFile(path, "garbage\n");
    await assert.rejects(KnownAgentsFile.load(path), code("key.invalid"));
  });
});
