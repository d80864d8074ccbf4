/**
 * bin/nx, the `nx` that `npm link` / `npm install -g .` put on PATH: it runs the pinned Deno with
 * the `nx` task's permissions by exec (so the process is Deno's, with the caller's cwd, argv,
 * stdio and signals), finds the repository through links, and says `run npm ci` without
 * node_modules. It runs the prebuilt bundle while no source is newer than its stamp, else the
 * source. Also: `npm run nx` is quiet, and the README's walk-through runs as written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFile, mkdir, symlink } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { build, SOURCE_INPUTS } from "../.ci/build.ts";
import { bundleFlags, copyFixture, REPO, tempDir, trustedRoot } from "./helpers.ts";

const LAUNCHER = join(REPO, "bin", "nx");
const PINNED_DENO = join(REPO, "node_modules", "@deno", "linux-x64-glibc", "deno");
const text = new TextDecoder();

/** A PATH directory whose `nx` reaches bin/nx through links, laid out as `npm link` does. */
async function linkedPath(): Promise<string> {
  const prefix = await tempDir("nx-prefix-");
  await mkdir(join(prefix, "lib", "node_modules"), { recursive: true });
  await mkdir(join(prefix, "bin"));
  await symlink(REPO, join(prefix, "lib", "node_modules", "nx"));
  await symlink("../lib/node_modules/nx/bin/nx", join(prefix, "bin", "nx"));
  return join(prefix, "bin");
}

interface Run {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; path?: string } = {},
): Promise<Run> {
  const env = { ...options.env };
  if (options.path) env.PATH = `${options.path}:${Deno.env.get("PATH")}`;
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? REPO,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    signal: out.signal,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
  };
}

const permissionsOf = (line: string) => line.match(/--allow-[a-z]+/g) ?? [];

Deno.test("bin/nx grants exactly the permissions of the nx task in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const task: string = config.tasks.nx;
  assert.match(task, /^deno run .* cli\/main\.ts$/);
  const launcher = await Deno.readTextFile(LAUNCHER);
  // One exec line for the bundle, one for the source: each up to its "$@".
  const execs = launcher.split(/exec "\$deno" run/).slice(1).map((l) => l.split('"$@"')[0]);
  assert.equal(execs.length, 2);
  for (const line of execs) assert.deepEqual(permissionsOf(line), permissionsOf(task));
  assert.ok(permissionsOf(task).length > 0);
});

Deno.test("bin/nx gives the bundle the V8 flags the tests and the bench give it, the source none", async () => {
  const launcher = await Deno.readTextFile(LAUNCHER);
  const execs = launcher.split(/exec "\$deno" run/).slice(1).map((l) => l.split('"$@"')[0]);
  const v8Flags = (line: string) => line.match(/--v8-flags=\S*/g) ?? [];
  const [bundle, source] = execs;
  assert.match(bundle, /build\/main\.js/);
  assert.deepEqual(v8Flags(bundle), bundleFlags().filter((f) => f.startsWith("--v8-flags=")));
  assert.deepEqual(v8Flags(source), []);
});

const BUILD_URL = pathToFileURL(join(REPO, "build", "/")).href;

/**
 * What Deno's V8 code cache in `denoDir` holds for build/: each module's specifier and a digest of
 * its cached code. Deno 2.9.6 keeps the cache in the SQLite file `v8_code_cache_v2` (table
 * `codecache`); it is read through the libsql addon nx's registry uses.
 */
function cachedBundleCode(denoDir: string): Map<string, string> {
  const Database = createRequire(join(REPO, "node_modules", "/"))("libsql");
  const db = new Database(join(denoDir, "v8_code_cache_v2"), { readonly: true });
  const digest = (data: ArrayBuffer) =>
    createHash("sha256").update(new Uint8Array(data)).digest("hex");
  try {
    const rows: { specifier: string; data: ArrayBuffer }[] = db
      .prepare("SELECT specifier, data FROM codecache WHERE substr(specifier, 1, ?) = ?")
      .all(BUILD_URL.length, BUILD_URL);
    return new Map(rows.map((row) => [row.specifier, digest(row.data)]));
  } finally {
    db.close();
  }
}

Deno.test("deno task build leaves the code cache that bin/nx's first commands use", async () => {
  const denoDir = await tempDir("nx-deno-dir-");
  const run = async (cmd: string, args: string[]) => {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: REPO,
      env: { DENO_DIR: denoDir, NX_CLI: "bundle", NO_COLOR: "1" },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(out.success, `${[cmd, ...args].join(" ")}: ${text.decode(out.stderr)}`);
  };
  await run(PINNED_DENO, ["task", "build"]);
  const built = cachedBundleCode(denoDir);
  const chunks = (await Array.fromAsync(Deno.readDir(join(REPO, "build"))))
    .filter((e) => e.isFile && e.name.endsWith(".js"));
  assert.equal(built.size, chunks.length, "the build cached the code of some chunks only");
  const root = await trustedRoot(["dev"]);
  const notes = join(REPO, "fixtures", "bundles", "notes-1.0.0.nxb");
  for (
    const args of [
      ["--version"],
      ["pkg", "verify", notes, "--root", root],
      ["pkg", "install", notes, "--root", root],
      ["pkg", "list", "--root", root],
    ]
  ) {
    await run(LAUNCHER, args);
  }
  assert.deepEqual(cachedBundleCode(denoDir), built, "bin/nx compiled and cached code again");
  // The check can fail: under other V8 flags the cached code is rejected, compiled and written.
  await run(PINNED_DENO, ["run", "-A", "--no-config", join(REPO, "build", "main.js"), "--version"]);
  const main = `${BUILD_URL}main.js`;
  assert.notEqual(cachedBundleCode(denoDir).get(main), built.get(main));
});

Deno.test("bin/nx checks the bundle against exactly the inputs the build names", async () => {
  const launcher = await Deno.readTextFile(LAUNCHER);
  const find = launcher.match(/find ([^\n]*(?:\\\n[^\n]*)*?) -newer build\/stamp/);
  assert.ok(find, "no find … -newer build/stamp in bin/nx");
  assert.deepEqual(find[1].replace(/\\\n/g, " ").split(/\s+/).filter((w) => w), SOURCE_INPUTS);
});

Deno.test("package.json names bin/nx as the nx bin and runs it for npm run nx", async () => {
  const pkg = JSON.parse(await Deno.readTextFile(join(REPO, "package.json")));
  assert.equal(pkg.bin.nx, "bin/nx");
  assert.equal(pkg.scripts.nx, "bin/nx");
  assert.ok(((await Deno.stat(LAUNCHER)).mode! & 0o111) !== 0, "bin/nx is not executable");
});

Deno.test("nx on PATH through links works from any directory, with paths relative to it", async () => {
  const path = await linkedPath();
  const cwd = await tempDir("nx-cwd-");
  await copyFixture("notes-1.0.0", cwd);
  const root = await trustedRoot(["dev"]);
  const ok = await run("nx", ["pkg", "verify", "notes.nxb", "--root", root, "--json"], {
    cwd,
    path,
  });
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).code, "ok");
  assert.equal(ok.stderr, "");
  // stdout, stderr and the exit code are nx's own.
  const missing = await run("nx", ["pkg", "verify", "nope.nxb", "--root", root], { cwd, path });
  assert.equal(missing.code, 3);
  assert.equal(missing.stdout, "");
  assert.match(missing.stderr, /\[bundle\.not_found\]$/m);
});

function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

function childrenOf(pid: number): number[] {
  const list = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`).trim();
  return list ? list.split(" ").map(Number) : [];
}

Deno.test("bin/nx execs Deno: the launched process is Deno, in the caller's cwd, with the argv, and a signal reaches it", async (t) => {
  await build();
  const scripts = { source: join(REPO, "cli", "main.ts"), bundle: join(REPO, "build", "main.js") };
  for (const [mode, script] of Object.entries(scripts)) {
    await t.step(`NX_CLI=${mode}`, () => execsDeno(mode, script));
  }
});

async function execsDeno(mode: string, script: string) {
  const path = await linkedPath();
  const cwd = await tempDir("nx-cwd-");
  await copyFixture("notes-1.0.0", cwd);
  const root = await trustedRoot(["dev"]);
  const args = ["pkg", "install", "notes.nxb", "--root", root, "--json"];
  const child = new Deno.Command(join(path, "nx"), {
    args,
    cwd,
    env: { NX_FAULT: "stop:switch-current", NX_CLI: mode },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  // nx stops itself before switch-current. Were bin/nx a parent that spawned Deno, its child
  // would stop instead and the launcher would keep waiting: fail rather than hang.
  for (;;) {
    const state = processState(child.pid);
    if (state === "T") break;
    if (state === "Z") {
      assert.fail(`nx exited before the stop: ${text.decode((await output).stderr)}`);
    }
    // A child may exit between the listing and the read of its state: it is not the stopped one.
    const stoppedChild = childrenOf(child.pid).find((c) => {
      try {
        return processState(c) === "T";
      } catch {
        return false;
      }
    });
    if (stoppedChild !== undefined) {
      Deno.kill(stoppedChild, "SIGKILL");
      await output;
      assert.fail("bin/nx did not exec: its child is the nx process");
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await Deno.realPath(`/proc/${child.pid}/exe`), await Deno.realPath(PINNED_DENO));
  assert.equal(await Deno.realPath(`/proc/${child.pid}/cwd`), await Deno.realPath(cwd));
  const argv = (await Deno.readTextFile(`/proc/${child.pid}/cmdline`)).split("\0").slice(0, -1);
  assert.deepEqual(argv.slice(-args.length - 1), [script, ...args]);
  assert.ok(!argv.includes("task"), "no deno task: no Task banner");
  child.kill("SIGTERM");
  child.kill("SIGCONT");
  const status = await output;
  assert.equal(status.signal, "SIGTERM");
}

/**
 * A copy of the repository's launcher, sources and bundle (node_modules linked), whose stamp is
 * newer than every source: what `deno task build` leaves.
 */
async function builtCopy(): Promise<string> {
  await build();
  const copy = await Deno.realPath(await tempDir("nx-built-"));
  const cp = await new Deno.Command("cp", {
    args: [
      "-a",
      "bin",
      "cli",
      "core",
      "build",
      "deno.json",
      "deno.lock",
      "package.json",
      "package-lock.json",
      copy,
    ],
    cwd: REPO,
  }).output();
  assert.ok(cp.success, text.decode(cp.stderr));
  await mkdir(join(copy, ".ci"));
  for (const file of [".ci/build.ts", ".ci/defer_imports.ts"]) {
    await copyFile(join(REPO, file), join(copy, file));
  }
  const shims = await new Deno.Command("cp", {
    args: ["-a", ".ci/shims", join(copy, ".ci")],
    cwd: REPO,
  })
    .output();
  assert.ok(shims.success, text.decode(shims.stderr));
  await symlink(join(REPO, "node_modules"), join(copy, "node_modules"));
  const later = new Date(Date.now() + 60_000);
  await Deno.utime(join(copy, "build", "stamp"), later, later);
  return copy;
}

/** Which script the launcher exec'd Deno on (strace's execve record), and what it printed. */
async function launched(copy: string, extra: Record<string, string> = {}) {
  const env = { NX_CLI: "", ...extra };
  const trace = join(await tempDir(), "trace");
  const r = await run("strace", [
    "-f",
    "-qq",
    "-s",
    "4096",
    "-e",
    "trace=execve",
    "-o",
    trace,
    join(copy, "bin", "nx"),
    "--version",
  ], { env });
  const execs = (await Deno.readTextFile(trace)).split("\n").filter((l) =>
    /execve\(".*\/deno"/.test(l)
  );
  const script = execs.length === 0
    ? undefined
    : execs[0].includes("/build/main.js")
    ? "bundle"
    : execs[0].includes("/cli/main.ts")
    ? "source"
    : execs[0];
  return { ...r, script };
}

const haveStrace =
  (await new Deno.Command("sh", { args: ["-c", "command -v strace"] }).output()).success;

Deno.test({
  name: "bin/nx runs the bundle while no source is newer than its stamp, else the source",
  ignore: !haveStrace,
  fn: async (t) => {
    const copy = await builtCopy();
    const future = (path: string) => {
      const later = new Date(Date.now() + 120_000);
      return Deno.utime(join(copy, path), later, later);
    };
    await t.step("fresh: the bundle", async () => {
      const r = await launched(copy);
      assert.equal(r.script, "bundle");
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
      assert.equal(r.stderr, "");
    });
    await t.step("NX_CLI=source: the source", async () => {
      const r = await launched(copy, { NX_CLI: "source" });
      assert.equal(r.script, "source");
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    });
    await t.step("a newer test file: still the bundle", async () => {
      await future("core/version/mod_test.ts");
      assert.equal((await launched(copy)).script, "bundle");
    });
    await t.step("a newer source: the source, with the same output", async () => {
      await future("core/errors.ts");
      const r = await launched(copy);
      assert.equal(r.script, "source");
      assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
      assert.equal(r.stderr, "");
    });
    await t.step("NX_CLI=bundle refuses an out-of-date bundle in one line, exit 4", async () => {
      const r = await launched(copy, { NX_CLI: "bundle" });
      assert.equal(r.script, undefined);
      assert.equal(r.code, 4);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^nx: cannot start: NX_CLI=bundle, .*\(run deno task build\)\n$/);
    });
    await t.step("a new file in a source folder: the source", async () => {
      const again = await builtCopy();
      await Deno.writeTextFile(join(again, "cli", "scratch.ts"), "");
      const dir = new Date(Date.now() + 120_000);
      await Deno.utime(join(again, "cli"), dir, dir);
      assert.equal((await launched(again)).script, "source");
    });
    await t.step("no build: the source", async () => {
      await Deno.remove(join(copy, "build"), { recursive: true });
      assert.equal((await launched(copy)).script, "source");
    });
  },
});

Deno.test("without node_modules, bin/nx says in one line to run npm ci in the repository", async () => {
  const repo = await Deno.realPath(await tempDir("nx-fresh-clone-"));
  await mkdir(join(repo, "bin"));
  await copyFile(LAUNCHER, join(repo, "bin", "nx"));
  await Deno.chmod(join(repo, "bin", "nx"), 0o755);
  const path = await tempDir("nx-path-");
  await symlink(join(repo, "bin", "nx"), join(path, "nx"));
  const r = await run("nx", ["pkg", "list"], { path, cwd: path });
  assert.equal(r.code, 4);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.split("\n").filter((l) => l).length, 1, r.stderr);
  assert.ok(r.stderr.includes(`run npm ci in ${repo})`), r.stderr);
});

Deno.test("npm run nx prints no Task banner and no colour into a file", async () => {
  const root = join(await tempDir(), "root");
  // No NO_COLOR: nothing may be coloured when stdout and stderr are not terminals.
  const r = await run("npm", ["run", "-s", "nx", "--", "pkg", "verify", "/nonexistent.nxb"], {
    env: { NX_ROOT: root, NO_COLOR: "", FORCE_COLOR: "" },
  });
  assert.equal(r.code, 3, r.stderr);
  assert.equal(r.stdout, "");
  assert.doesNotMatch(r.stderr, /Task/);
  assert.ok(!r.stderr.includes("\x1b"), "an escape sequence in stderr");
  assert.match(r.stderr, /^error: .*\[bundle\.not_found\]\n$/);
  const version = await run("npm", ["run", "-s", "nx", "--", "--version"]);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(version.stderr, "");
});

Deno.test("npm link and npm install -g . put a working nx on PATH", async (t) => {
  for (const install of [["link"], ["install", "-g", "."]]) {
    await t.step(`npm ${install.join(" ")}`, async () => {
      const prefix = await tempDir("nx-npm-prefix-");
      const r = await run("npm", [...install, "--offline", "--no-audit", "--no-fund"], {
        env: { npm_config_prefix: prefix },
      });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const cwd = await tempDir();
      const v = await run("nx", ["--version"], { cwd, path: join(prefix, "bin") });
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
    });
  }
});
