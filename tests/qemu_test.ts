/**
 * `nx qemu` end to end, on a real QEMU guest (TCG): the cached image build, `up` of a fresh
 * guest, root commands over both transports it prints, `status`, `console` (and `--follow`),
 * `down`; a boot that misses its deadline. Skipped, saying why, without qemu-system-x86_64.
 * The image cache is the user's (a cold build downloads ~75 MB of debs; later ones are no-ops);
 * each guest's state lives under a temporary XDG_RUNTIME_DIR with its own host key.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, nx, nxCommandLine, type NxRun, REPO, tempDir } from "./helpers.ts";
import { cacheDir } from "../core/qemu/mod.ts";
import { guestTurn, qemuHost } from "./_qemu.ts";

const QEMU = await new Deno.Command("qemu-system-x86_64", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);
if (!QEMU) console.error("tests/qemu_test.ts: skipped: qemu-system-x86_64 is not installed");

const data = <T>(run: NxRun): T => {
  assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
  return run.json!.data as T;
};

/** A host for guests: its own runtime dir, config dir and identity key. */
async function host() {
  const { dir, env } = await qemuHost("nx-qemu-test-");
  return { dir, env, run: (args: string[]) => nx(args, { env }) };
}

interface Up {
  name: string;
  serial: string;
  tcp: string;
  pid: number;
  console: string;
  bootSeconds: number;
  started: boolean;
}

Deno.test({
  name: "nx qemu build is cached: a second build with the same inputs builds nothing",
  ignore: !QEMU,
  async fn() {
    const first = data<{ hash: string; boot: string }>(await nx(["qemu", "build", "--json"]));
    const second = data<{ hash: string; upToDate: boolean; dir: string }>(
      await nx(["qemu", "build", "--json"]),
    );
    assert.equal(second.hash, first.hash);
    assert.equal(second.upToDate, true);
    assert.equal(first.boot, "pvh", "the kernel is booted uncompressed (PVH)");
    const manifest = JSON.parse(await Deno.readTextFile(join(second.dir, "manifest.json")));
    assert.equal(manifest.format, "nx-qemu-image");
    assert.ok(manifest.modules.includes("ext4.ko") && manifest.modules.includes("virtio_pci.ko"));
  },
});

Deno.test({
  name: "nx qemu up boots a guest that answers over serial and tcp; status, console, down",
  ignore: !QEMU,
  async fn() {
    using _turn = await guestTurn();
    const h = await host();
    const dev = join(FIXTURES, "keys", "dev.pub");
    const up = data<Up>(
      await h.run(["qemu", "up", "--name", "t1", "--fresh", "--trust", dev, "--json"]),
    );
    console.error(`boot to pkgr: ready: ${up.bootSeconds} s`);
    assert.match(up.serial, /^serial:\/.*\/nx\/qemu\/t1\/agent\.sock$/);
    assert.match(up.tcp, /^tcp:127\.0\.0\.1:[0-9]+$/);
    assert.equal(up.started, true);

    // A second up of a running guest starts nothing and names the same transports.
    const again = data<Up>(await h.run(["qemu", "up", "--name", "t1", "--json"]));
    assert.deepEqual([again.started, again.pid, again.tcp], [false, up.pid, up.tcp]);

    const notes = join(FIXTURES, "bundles", "notes-1.0.0.nxb");
    data(await h.run(["pkg", "install", notes, "--transport", up.tcp, "--json"]));
    for (const via of [up.serial, up.tcp]) {
      const list = data<{ apps: { id: string; version: string }[] }>(
        await h.run(["pkg", "list", "--transport", via, "--json"]),
      );
      assert.deepEqual(list.apps.map((a) => `${a.id}@${a.version}`), ["notes@1.0.0"], via);
    }

    const status = data<{ guests: { name: string; running: boolean; pid: number; tcp: string }[] }>(
      await h.run(["qemu", "status", "--json"]),
    );
    assert.deepEqual(status.guests.map((g) => [g.name, g.running, g.pid, g.tcp]), [
      ["t1", true, up.pid, up.tcp],
    ]);

    const log = data<{ lines: string[] }>(
      await h.run(["qemu", "console", "--name", "t1", "--json"]),
    );
    for (
      const marker of [
        "nx-init: ",
        "starting agent",
        "pkgr: ready",
        "bundle: install ok notes@1.0.0",
      ]
    ) {
      assert.ok(log.lines.some((l) => l.includes(marker)), `console has ${marker}`);
    }

    // --follow prints until QEMU exits: the power-off at the end, then it returns.
    const line = nxCommandLine(["qemu", "console", "--name", "t1", "--follow"]);
    const follow = new Deno.Command(line.cmd, {
      args: line.args,
      env: { NO_COLOR: "1", ...h.env },
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const down = data<{ outcome: string }>(await h.run(["qemu", "down", "--name", "t1", "--json"]));
    assert.equal(down.outcome, "powered-off");
    const followed = await follow.output();
    assert.equal(followed.code, 0);
    const text = new TextDecoder().decode(followed.stdout);
    assert.match(text, /pkgr: ready/);
    assert.match(text, /nx-init: \[[0-9.]+\] power off/);

    const after = data<{ guests: { running: boolean }[] }>(
      await h.run(["qemu", "status", "--json"]),
    );
    assert.deepEqual(after.guests.map((g) => g.running), [false]);
    const idle = data<{ outcome: string }>(await h.run(["qemu", "down", "--name", "t1", "--json"]));
    assert.equal(idle.outcome, "not-running");
    await Deno.remove(h.dir, { recursive: true });
  },
});

Deno.test({
  name: "nx qemu up gives up at --timeout with the console's last lines, and stops QEMU",
  ignore: !QEMU,
  async fn() {
    using _turn = await guestTurn();
    const h = await host();
    const run = await h.run(["qemu", "up", "--name", "late", "--timeout", "1", "--json"]);
    assert.equal(run.json?.code, "transport.timeout", run.stdout + run.stderr);
    assert.ok(Array.isArray(run.json?.data?.details?.lastLines));
    const status = data<{ guests: { running: boolean }[] }>(
      await h.run(["qemu", "status", "--name", "late", "--json"]),
    );
    assert.deepEqual(status.guests.map((g) => g.running), [false]);
    await Deno.remove(h.dir, { recursive: true });
  },
});

Deno.test("nx qemu up refuses a bad name and a missing identity before it builds or boots", async () => {
  const h = await host();
  const bad = await h.run(["qemu", "up", "--name", "../x", "--json"]);
  assert.equal(bad.json?.code, "usage.invalid_argument");
  const missing = await h.run(["qemu", "up", "--identity", join(h.dir, "none.key"), "--json"]);
  assert.equal(missing.json?.code, "transport.no_identity");
  const down = data<{ outcome: string }>(
    await h.run(["qemu", "down", "--name", "nothing", "--json"]),
  );
  assert.equal(down.outcome, "not-running");
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test({
  name:
    "the README's guest block, line by line: up, env, install, list, launch, buy, refund, console, down",
  ignore: !QEMU,
  async fn(t) {
    using _turn = await guestTurn();
    const readme = await Deno.readTextFile(join(REPO, "README.md"));
    const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1])
      .find((b) => /^nx qemu up /m.test(b))!;
    const lines = block.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const dir = await tempDir("nx-qemu-readme-");
    const bin = join(dir, "bin");
    await Deno.mkdir(bin);
    await Deno.mkdir(join(dir, "run"), { mode: 0o700 });
    await Deno.symlink(join(REPO, "bin", "nx"), join(bin, "nx"));
    // One shell, as a newcomer's: each line's output and exit code kept apart.
    const out = join(dir, "out");
    await Deno.mkdir(out);
    const script = lines.map((line, i) =>
      `{ ${line}\n} >'${out}/${i}.out' 2>'${out}/${i}.err'; echo $? >'${out}/${i}.rc'`
    ).join("\n");
    const shell = await new Deno.Command("bash", {
      args: ["--norc", "--noprofile", "-c", script],
      cwd: REPO,
      clearEnv: true,
      env: {
        PATH: `${bin}:${Deno.env.get("PATH")}`,
        HOME: join(dir, "home"),
        XDG_RUNTIME_DIR: join(dir, "run"),
        NO_COLOR: "1",
        NX_QEMU_CACHE: cacheDir((name) => Deno.env.get(name)), // the image cache, kept
      },
      stdout: "null",
      stderr: "null",
    }).output();
    assert.equal(shell.code, 0);
    const read = (i: number, ext: string) => Deno.readTextFile(join(out, `${i}.${ext}`));
    for (const [i, line] of lines.entries()) {
      await t.step(line, async () => {
        const rc = Number((await read(i, "rc")).trim());
        // A line the README says is refused exits 3 with that code; every other line exits 0.
        const refused = line.match(/# refused: ([a-z_]+\.[a-z_]+)/)?.[1];
        assert.equal(rc, refused ? 3 : 0, `${await read(i, "out")}${await read(i, "err")}`);
        if (refused) assert.match(await read(i, "err"), new RegExp(`\\[${refused}\\]`));
      });
    }
    await t.step("the apps ran in the guest", async () => {
      const notes = lines.findIndex((l) => l.startsWith("nx pkg launch notes"));
      assert.equal(await read(notes, "out"), "notes 1.0.0: hello hello\n");
      const ledger = lines.findLastIndex((l) => l.startsWith("nx pkg launch ledger"));
      assert.equal(await read(ledger, "out"), "ledger 1.0.0: hello\n");
    });
    await t.step("the app is in the guest", async () => {
      const install = lines.findIndex((l) => l.startsWith("nx pkg install "));
      assert.match(await read(install, "err"), /^pkgr: install app=notes v=1\.0\.0$/m);
      const list = lines.findIndex((l) => l.startsWith("nx pkg list"));
      assert.match(await read(list, "out"), /^notes\s+1\.0\.0/m);
      const env = lines.findIndex((l) => l.includes("nx qemu env"));
      assert.ok(env >= 0);
    });
    await Deno.remove(dir, { recursive: true });
  },
});
