/**
 * The README's shell blocks, as written, so what it tells a new user stays true: the
 * walk-through runs line by line in bash with the real `nx` on PATH (a link to bin/nx, as `npm
 * link` makes), every line exits 0, its `--dry-run` line leaves the state root as it was, and it
 * writes nothing into the repository. Every ```sh block is either run here or named below with
 * the test that covers it, so a new block cannot go unchecked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { symlink } from "node:fs/promises";
import { DENO, REPO, tempDir } from "./helpers.ts";

const README = await Deno.readTextFile(join(REPO, "README.md"));
const BLOCKS = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);

/** Blocks not run here, and why (what runs them instead). */
const ELSEWHERE: [RegExp, string][] = [
  [/^npm ci && npm start/m, "the install and the whole test run: CI runs exactly these"],
  [/^npm link/m, "a global link: tests/launcher_test.ts runs `npm link` with its own prefix"],
  [/^nx completion bash/m, "tests/completion_test.ts runs each install line in its shell"],
  [/^nx qemu up /m, "tests/qemu_test.ts runs the guest block line by line on a real guest"],
];
const isAgentShell = (block: string) => /^nx agent /m.test(block);
const isHostShell = (block: string) => /^export NX_TRANSPORT=/m.test(block);
const isPaidBlock = (block: string) => /^P=\/tmp\/nx-paid-demo\b/m.test(block);
const isWalkthrough = (block: string) =>
  /^nx pkg keygen /m.test(block) && !isAgentShell(block) && !/^nx qemu /m.test(block);

/** The command lines of a block (comments and blank lines dropped). */
const commandLines = (block: string) =>
  block.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));

async function run(cmd: string, args: string[], cwd = REPO) {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** Untracked and ignored entries of the repository. */
async function untracked(): Promise<string[]> {
  const r = await run("git", ["status", "--porcelain", "--ignored", "--untracked-files=all"]);
  assert.equal(r.code, 0, r.stderr);
  // build/ is the bundle's, rebuilt by other test files that may run at the same time.
  return r.stdout.split("\n").filter((l) => /^(\?\?|!!) /.test(l) && !/^!! build\//.test(l))
    .sort();
}

Deno.test("every ```sh block of the README is run here or by a named test", () => {
  assert.ok(BLOCKS.some(isWalkthrough), "README.md has no walk-through block (nx pkg keygen …)");
  for (const block of BLOCKS) {
    const covered = isWalkthrough(block) || isAgentShell(block) || isHostShell(block) ||
      isPaidBlock(block) ||
      ELSEWHERE.some(([re]) => re.test(block));
    assert.ok(covered, `README.md block not checked by any test:\n${block}`);
  }
});

Deno.test("the README walk-through: every line exits 0, the dry run changes nothing, the repository stays clean", async (t) => {
  const lines = commandLines(BLOCKS.find(isWalkthrough)!);
  const work = await tempDir("nx-readme-");
  const out = join(work, "out");
  const home = join(work, "home");
  const bin = join(work, "bin");
  await Promise.all([out, home, bin].map((d) => Deno.mkdir(d)));
  await symlink(join(REPO, "bin", "nx"), join(bin, "nx"));
  // The README's W is a fixed /tmp path; here it is this test's own directory.
  const W = join(work, "W");
  const script = [
    'snapshot() { [ -d "${NX_ROOT:-/nonexistent}" ] || return 0; (cd "$NX_ROOT" &&',
    "  find . -printf '%y %p %l\\n' | sort && find . -type f -exec sha256sum {} + | sort); }",
    ...lines.flatMap((line, i) => [
      `{ ${line.replace(/^W=\/tmp\/nx-walkthrough\b/, `W='${W}'`)}`,
      `} >'${out}/${i}.out' 2>'${out}/${i}.err'; echo $? >'${out}/${i}.rc'`,
      `snapshot >'${out}/${i}.tree'`,
    ]),
  ].join("\n");
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: home,
    NO_COLOR: "1",
    DENO_DIR: JSON.parse((await run(DENO, ["info", "--json"])).stdout).denoDir, // the cache, kept
  };
  const before = await untracked();
  const bash = await bashLine(script, env);
  assert.equal(bash.code, 0, bash.stderr);
  const read = (i: number, ext: string) => Deno.readTextFile(join(out, `${i}.${ext}`));

  for (const [i, line] of lines.entries()) {
    await t.step(line, async () => {
      const rc = Number((await read(i, "rc")).trim());
      assert.equal(rc, 0, `exit ${rc}\n${await read(i, "out")}${await read(i, "err")}`);
      if (/ --dry-run\b/.test(line)) {
        assert.ok(i > 0);
        assert.equal(
          await read(i, "tree"),
          await read(i - 1, "tree"),
          "the dry run changed the root",
        );
      }
    });
  }
  await t.step("what it promised: markers, the rollback, files under $W only", async () => {
    const verify = lines.findIndex((l) => l.includes("--markers"));
    assert.match(await read(verify, "err"), /^pkgr: verified ok$/m);
    const rollback = lines.findIndex((l) => l.startsWith("nx pkg rollback "));
    assert.match(await read(rollback, "out"), /1\.1\.0 → 1\.0\.0/);
    for (const made of ["keys/me.key", "keys/me.pub", "notes-1.0.0.nxb", "root/pkg"]) {
      await Deno.lstat(join(W, made));
    }
    assert.deepEqual(await untracked(), before, "the walk-through wrote into the repository");
  });
});

/** Runs `line` in bash with `env`; its exit code and output. */
async function bashLine(line: string, env: Record<string, string>) {
  const r = await new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", line],
    cwd: REPO,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: r.code, stdout: text.decode(r.stdout), stderr: text.decode(r.stderr) };
}

Deno.test("the README's two shells: an agent serves a root, the second shell drives it", async (t) => {
  const work = await tempDir("nx-readme-agent-");
  const bin = join(work, "bin");
  await Deno.mkdir(bin);
  await symlink(join(REPO, "bin", "nx"), join(bin, "nx"));
  const A = join(work, "A");
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: join(work, "home"),
    NO_COLOR: "1",
    DENO_DIR: JSON.parse((await run(DENO, ["info", "--json"])).stdout).denoDir,
  };
  const own = (line: string) => line.replace(/^A=\/tmp\/nx-agent-demo/, `A='${A}'`);
  const setup = commandLines(BLOCKS.find(isAgentShell)!);
  const agentLine = setup.find((l) => l.startsWith("nx agent "))!;
  const prelude = `A='${A}'`;
  for (const line of [own(setup[0]), ...setup.slice(1).filter((l) => l !== agentLine)]) {
    const r = await bashLine(`${prelude}; ${line}`, env);
    assert.equal(r.code, 0, `${line}\n${r.stdout}${r.stderr}`);
  }
  // The agent, on a free port instead of 7070 (which another test or program may hold).
  const agent = new Deno.Command("bash", {
    args: ["--norc", "--noprofile", "-c", `${prelude}; exec ${agentLine.replace(":7070", ":0")}`],
    cwd: REPO,
    clearEnv: true,
    env,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = agent.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  while (!/^pkgr: ready$/m.test(log)) {
    const { value, done } = await lines.read();
    assert.ok(!done, `the agent stopped before it was ready:\n${log}`);
    log += value;
  }
  const port = log.match(/^agent: listening tcp:127\.0\.0\.1:(\d+)$/m)![1];
  try {
    // One shell, as the README's second one: each line's output and exit code kept apart.
    const hostLines = commandLines(BLOCKS.find(isHostShell)!);
    const out = join(work, "out");
    await Deno.mkdir(out);
    const script = hostLines.map((line, i) =>
      `{ ${own(line).replace(":7070", `:${port}`)}\n} >'${out}/${i}.out' 2>'${out}/${i}.err'; ` +
      `echo $? >'${out}/${i}.rc'`
    ).join("\n");
    assert.equal((await bashLine(script, env)).code, 0);
    for (const [i, line] of hostLines.entries()) {
      await t.step(line, async () => {
        const read = (ext: string) => Deno.readTextFile(join(out, `${i}.${ext}`));
        assert.equal((await read("rc")).trim(), "0", `${await read("out")}${await read("err")}`);
      });
    }
    const install = hostLines.findIndex((l) => l.startsWith("nx pkg install "));
    assert.match(await Deno.readTextFile(join(out, `${install}.err`)), /^pkgr: verified ok$/m);
    const host = `${own("A=/tmp/nx-agent-demo")}; export NX_TRANSPORT=tcp:127.0.0.1:${port} ` +
      `NX_IDENTITY=$A/host.key`;
    await t.step(
      "the app is on the agent's root; the shell's own root was never made",
      async () => {
        const remote = await bashLine(`${host}; nx pkg list --json`, env);
        assert.deepEqual(JSON.parse(remote.stdout).data.apps.map((a: { id: string }) => a.id), [
          "notes",
        ]);
        const local = await bashLine("nx pkg list --json", env);
        assert.equal(JSON.parse(local.stdout).code, "root.not_found");
      },
    );
  } finally {
    agent.kill("SIGTERM");
    const status = await agent.status;
    await lines.cancel();
    assert.equal(status.code, 0, "the agent exits 0 on SIGTERM");
  }
});

Deno.test("the README's paid app: refused, bought, launched, refunded, restored", async (t) => {
  const lines = commandLines(BLOCKS.find(isPaidBlock)!);
  const work = await tempDir("nx-readme-paid-");
  const bin = join(work, "bin");
  await Deno.mkdir(bin);
  await symlink(join(REPO, "bin", "nx"), join(bin, "nx"));
  const out = join(work, "out");
  await Deno.mkdir(out);
  const P = join(work, "P");
  const script = lines.map((line, i) =>
    `{ ${line.replace(/^P=\/tmp\/nx-paid-demo\b/, `P='${P}'`)}\n} >'${out}/${i}.out' ` +
    `2>'${out}/${i}.err'; echo $? >'${out}/${i}.rc'`
  ).join("\n");
  const env = {
    PATH: `${bin}:${Deno.env.get("PATH")}`,
    HOME: join(work, "home"),
    NO_COLOR: "1",
    DENO_DIR: JSON.parse((await run(DENO, ["info", "--json"])).stdout).denoDir,
  };
  assert.equal((await bashLine(script, env)).code, 0);
  const read = (i: number, ext: string) => Deno.readTextFile(join(out, `${i}.${ext}`));
  for (const [i, line] of lines.entries()) {
    await t.step(line, async () => {
      const rc = Number((await read(i, "rc")).trim());
      // A line the README says is refused exits 3 with that code; every other line exits 0.
      const refused = line.match(/# refused: ([a-z_]+\.[a-z_]+)/)?.[1];
      const said = `${await read(i, "out")}${await read(i, "err")}`;
      assert.equal(rc, refused ? 3 : 0, said);
      if (refused) assert.match(await read(i, "err"), new RegExp(`\\[${refused}\\]`));
    });
  }
  await t.step("what it promised: the markers, the launches in the app's data", async () => {
    const buy = lines.findIndex((l) => l.startsWith("nx store buy "));
    assert.match(await read(buy, "err"), /^ui: store buy app=ledger sku=ledger\.pro$/m);
    assert.match(await read(buy, "err"), /^pkgr: install app=ledger v=1\.0\.0$/m);
    const launch = lines.findIndex((l) => l.startsWith("nx pkg launch ledger --root $P -- hello"));
    assert.equal(await read(launch, "out"), "ledger 1.0.0: hello hello\n");
    const log = await Deno.readTextFile(join(P, "apps", "ledger", "data", "1.0.0", "launches.log"));
    assert.deepEqual(log.split("\n"), ["ledger 1.0.0 launched hello", "ledger 1.0.0 launched", ""]);
  });
});
