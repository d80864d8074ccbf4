import assert from "node:assert/strict";
import { join } from "node:path";
import { ELF_PAYLOAD_FILE } from "../core/bundle/layout.ts";
import { APPS, nameAndVersion, payloadElfPath } from "../fixtures/catalog.ts";
import { buildAll, staleElfs, toolchain, TOOLCHAIN_FILE } from "../fixtures/payload/build.ts";
import { FIXTURES, REPO } from "./helpers.ts";

Deno.test("committed fixtures match `deno task fixtures` output", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPO, "fixtures", "generate.ts"), "--check"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
});

Deno.test("every fixture payload is its committed ELF followed by filler up to payloadBytes", async () => {
  for (const app of APPS) {
    const elf = await Deno.readFile(join(FIXTURES, payloadElfPath(app)));
    const payload = await Deno.readFile(
      join(FIXTURES, "bundles", `${app.id}.nxb`, ELF_PAYLOAD_FILE),
    );
    assert.equal(payload.length, app.payloadBytes, app.id);
    assert.deepEqual(payload.subarray(0, elf.length), elf, app.id);
  }
});

// ---------------------------------------------------------------------------------------------
// The payloads run (x86-64 Linux only: they are static x86-64 Linux programs).

const RUNS_ELF = Deno.build.os === "linux" && Deno.build.arch === "x86_64";

/** A temp dir holding an executable copy of the bundle's payload and an empty data dir. */
async function payloadCopy(id: string): Promise<{ exe: string; data: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "nx-payload-run-" });
  const exe = join(dir, "payload");
  await Deno.copyFile(join(FIXTURES, "bundles", `${id}.nxb`, ELF_PAYLOAD_FILE), exe);
  await Deno.chmod(exe, 0o755);
  await Deno.mkdir(join(dir, "data"));
  return { exe, data: join(dir, "data"), dir };
}

async function runIn(exe: string, cwd: string, args: string[]) {
  const r = await new Deno.Command(exe, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  return { code: r.code, stdout: new TextDecoder().decode(r.stdout) };
}

Deno.test({
  name: "each payload appends its launch to ./launches.log, says hello and exits 0",
  ignore: !RUNS_ELF,
  fn: async () => {
    for (const app of APPS) {
      const { name, version } = nameAndVersion(app);
      const { exe, data, dir } = await payloadCopy(app.id);
      try {
        assert.deepEqual(await runIn(exe, data, []), {
          code: 0,
          stdout: `${name} ${version}: hello\n`,
        });
        assert.deepEqual(await runIn(exe, data, ["a", "b c"]), {
          code: 0,
          stdout: `${name} ${version}: hello a b c\n`,
        });
        const log = join(data, "launches.log");
        assert.equal(
          await Deno.readTextFile(log),
          `${name} ${version} launched\n${name} ${version} launched a b c\n`,
        );
        assert.equal((await Deno.stat(log)).mode! & 0o777, 0o600);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "the notes payload exits 3 after --fail, 2 on a bad --sleep, 0 after --sleep 0",
  ignore: !RUNS_ELF,
  fn: async () => {
    const { exe, data, dir } = await payloadCopy("notes-1.0.0");
    try {
      for (
        const [args, code] of [
          [["--fail", "x"], 3],
          [["--sleep", "0", "--fail"], 3],
          [["--sleep", "0", "y"], 0],
          [["--sleep"], 2],
          [["--sleep", "1s"], 2],
          [["--sleep", ""], 2],
          [["y", "--fail"], 0], // options are leading only
        ] as const
      ) {
        const r = await runIn(exe, data, [...args]);
        assert.equal(r.code, code, args.join(" "));
        assert.equal(r.stdout, ["notes 1.0.0: hello", ...args].join(" ") + "\n");
      }
      const lines = (await Deno.readTextFile(join(data, "launches.log"))).split("\n");
      assert.deepEqual(lines.slice(0, 2), [
        "notes 1.0.0 launched --fail x",
        "notes 1.0.0 launched --sleep 0 --fail",
      ]);
      assert.equal(lines.length, 8); // 7 launches + the empty string after the last newline
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the notes payload is still running during --sleep (a signal ends it)",
  ignore: !RUNS_ELF,
  fn: async () => {
    const { exe, data, dir } = await payloadCopy("notes-1.0.0");
    try {
      const child = new Deno.Command(exe, {
        args: ["--sleep", "3600"],
        cwd: data,
        stdout: "piped",
        stderr: "null",
      }).spawn();
      // It says hello before it sleeps: once the line is read, it is asleep (or about to be).
      const reader = child.stdout.getReader();
      const { value } = await reader.read();
      assert.equal(new TextDecoder().decode(value), "notes 1.0.0: hello --sleep 3600\n");
      reader.releaseLock();
      child.kill("SIGTERM");
      const status = await child.status;
      assert.equal(status.signal, "SIGTERM");
      await child.stdout.cancel();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

// ---------------------------------------------------------------------------------------------
// The committed ELFs are what app.c builds to (needs gcc; byte equality needs the same toolchain).

const gccToolchain = await toolchain().catch(() => undefined);
const committedToolchain = await Deno.readTextFile(TOOLCHAIN_FILE);

Deno.test({
  name: gccToolchain
    ? "fixtures/payload/build.ts builds the same bytes twice"
    : "fixtures/payload/build.ts builds the same bytes twice (ignored: no gcc on PATH)",
  ignore: !gccToolchain,
  fn: async () => {
    const [first, second] = [await buildAll(), await buildAll()];
    for (const [id, bytes] of first) assert.deepEqual(second.get(id), bytes, id);
  },
});

Deno.test({
  name: !gccToolchain
    ? "committed payload ELFs match a rebuild of app.c (ignored: no gcc on PATH)"
    : gccToolchain !== committedToolchain
    ? `committed payload ELFs match a rebuild of app.c (ignored: they were built by ${
      committedToolchain.trim().replace("\n", " + ")
    }, this gcc is ${gccToolchain.trim().replace("\n", " + ")})`
    : "committed payload ELFs match a rebuild of app.c",
  ignore: gccToolchain !== committedToolchain,
  fn: async () => {
    assert.deepEqual(await staleElfs(await buildAll()), []);
  },
});
