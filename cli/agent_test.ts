/**
 * `nx agent` as a process: the verb's command (agentCommand) run by a tiny entry, since
 * cli/program.ts registers it separately. Readiness on stderr, a host's call, SIGTERM → exit 0.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { connect, parseTarget, remotePkgr } from "../core/transport/mod.ts";
import { loadSecretKey } from "../core/pkgr/mod.ts";
import { callContext, rootWith, tempDir } from "../core/agent/_testing.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
const KEYS = join(REPO, "fixtures", "keys");
const ENTRY = `import { agentCommand } from "./cli/agent.ts";
await agentCommand().parseAsync(Deno.args, { from: "user" });`;

function spawnAgent(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", ENTRY, "--", ...args],
    cwd: REPO,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The child's stderr as lines, and a wait for one of them. */
function stderrLines(child: Deno.ChildProcess) {
  const lines: string[] = [];
  let ended = false;
  let wake = () => {};
  const done = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
      wake();
    }
    if (rest) lines.push(rest);
    ended = true;
    wake();
  })();
  const until = async (line: string) => {
    while (!lines.includes(line)) {
      if (ended) throw new Error(`the agent ended before \`${line}\`:\n${lines.join("\n")}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  return { lines, until, done };
}

Deno.test("nx agent serves its root until SIGTERM, then exits 0", async () => {
  const { paths } = await rootWith([]);
  const child = spawnAgent([
    "--root",
    paths.root,
    "--listen",
    "tcp:127.0.0.1:0",
    "--authorized-keys",
    join(KEYS, "dev.pub"),
  ]);
  const stderr = stderrLines(child);
  await stderr.until("pkgr: ready");
  const listening = stderr.lines.find((l) => l.startsWith("agent: listening "))!;
  assert.match(listening, /^agent: listening tcp:127\.0\.0\.1:[1-9][0-9]*$/);
  assert.ok(stderr.lines.includes("bundlemgrd: ready"));
  assert.ok(stderr.lines.includes("policy: packages enforce on"));

  const target = parseTarget(listening.slice("agent: listening ".length));
  const session = await connect(target, { identity: await loadSecretKey(join(KEYS, "dev.key")) });
  assert.deepEqual(await remotePkgr(session).list({}, callContext()), []);
  await session.close();

  child.kill("SIGTERM");
  const status = await child.status;
  await stderr.done;
  await child.stdout.cancel();
  assert.equal(status.code, 0, stderr.lines.join("\n"));
});

Deno.test("nx agent refuses to start without a usable key or with a bad limit", async (t) => {
  const dir = await tempDir();
  const empty = join(dir, "empty.pub");
  await Deno.writeTextFile(empty, "# no hosts yet\n");
  const rows: [string, string[], number, string][] = [
    [
      "an authorized-keys file without a key",
      ["--authorized-keys", empty],
      2,
      "usage.invalid_argument",
    ],
    [
      "a secret key as authorized key",
      ["--authorized-keys", join(KEYS, "dev.key")],
      3,
      "key.invalid",
    ],
    [
      "--max-connections 0",
      ["--authorized-keys", join(KEYS, "dev.pub"), "--max-connections", "0"],
      2,
      "usage.invalid_argument",
    ],
  ];
  for (const [name, args, exit, code] of rows) {
    await t.step(name, async () => {
      const child = spawnAgent([
        "--root",
        join(dir, "root"),
        "--listen",
        "tcp:127.0.0.1:0",
        ...args,
      ]);
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, exit, stderr);
      assert.ok(stderr.includes(`[${code}]`), stderr);
    });
  }
});
