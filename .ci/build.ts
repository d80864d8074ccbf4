/**
 * `deno task build` (npm's `prepare`, so `npm ci` runs it): the prebuilt, code-split bundle of the
 * CLI that bin/nx runs. `deno bundle --code-splitting` of cli/main.ts into `build/`: `build/main.js`
 * holds what every command needs (the command tree and the light core modules); each module that
 * a command loads with `import()` becomes its own chunk, so `nx --version` does not pay for zod,
 * libSQL or the verify code. npm packages are bundled, except libSQL's native addon, which stays
 * a `require()` that resolves from `build/` to the repository's `node_modules`.
 *
 * The files sit one level below the repository, as `cli/` does, so that what a module finds
 * through its own URL (`../fixtures/` in cli/demo.ts) is the same file from source and bundle.
 *
 * Start-up without node's layer: in the bundle only, the `node:` imports of the start-up graph
 * (commander's, and nx's own node:path and node:url) go to the shims of .ci/shims/ through an
 * import map, and the runtime chunk's `node:module` moves to the chunks that `require()` (see
 * .ci/shims/mod.ts): loading any `node:` module sets up Deno's node compatibility layer, which
 * cost more than the rest of `nx --version` (docs/performance.md). When the shims cannot be
 * applied (an import without a shim), the build warns and bundles without them: slower, not
 * wrong; tests/bundle_parity_test.ts fails on it, and holds the bundle's output to the source's.
 * The chunks' `import()`s are then computed (.ci/defer_imports.ts), so that Deno does not load
 * every chunk at start-up.
 *
 * Freshness: `build/stamp` is written (empty) just before the bundler reads the sources and moved
 * into place after the new files are; bin/nx runs the bundle only while no source is newer than
 * it ({@link SOURCE_INPUTS}; `find -newer`, a few milliseconds), else `cli/main.ts` from source.
 * A build that fails leaves the old stamp, so bin/nx keeps falling back to source.
 *
 * Code cache: `deno task build` ends with a smoke test (`main.js --version`) and an import of every
 * chunk (.ci/warm_bundle.ts), both under {@link BUNDLE_V8_FLAGS}, so the first command after
 * `npm ci` finds Deno's code cache filled for the flags bin/nx runs with.
 *
 * esbuild: `deno bundle` runs esbuild 0.25.5, which it fetches from the npm registry into
 * DENO_DIR on first use. package.json pins the same package (`@esbuild/linux-x64`, in
 * package-lock.json and deno.lock), so `npm ci` installs it with its integrity checked, and this
 * script puts that binary where Deno looks for it: no fetch outside the frozen locks.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deferDynamicImports } from "./defer_imports.ts";
import { lazyRequire, startupImportMap, startupNodeImports } from "./shims/mod.ts";

const REPO = fileURLToPath(new URL("..", import.meta.url));
export const BUILD_DIR = join(REPO, "build");
const ENTRY = "cli/main.ts";

/**
 * What the bundle is made of, relative to the repository (test files excepted): bin/nx passes
 * these to `find -newer build/stamp`. Keep the two lists equal (tests/launcher_test.ts checks).
 */
export const SOURCE_INPUTS = [
  "cli",
  "core",
  ".ci/build.ts",
  ".ci/defer_imports.ts",
  ".ci/shims",
  "deno.json",
  "deno.lock",
  "package.json",
  "package-lock.json",
];

/**
 * V8's flags for every run of the bundle: bin/nx passes them (tests/launcher_test.ts checks), and
 * so must whatever else runs build/, since Deno's code cache is keyed to them. `--no-lazy`: V8
 * compiles every function with its chunk, so the cache holds them all (docs/performance.md).
 */
export const BUNDLE_V8_FLAGS = ["--no-lazy"];

const ESBUILD_PACKAGE = join(REPO, "node_modules", "@esbuild", "linux-x64");
const decoder = new TextDecoder();

function fail(message: string): never {
  console.error(`nx build: ${message}`);
  Deno.exit(1);
}

async function run(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    ok: out.success,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
}

/**
 * The pinned esbuild from node_modules, copied to where `deno bundle` looks before it fetches
 * (`<DENO_DIR>/dl/esbuild-<version>-1/esbuild-linux-x64`, Deno 2.9's layout). A Deno that wants
 * another version ignores it and fetches its own.
 */
async function seedEsbuild(): Promise<void> {
  let version: string;
  try {
    version = JSON.parse(await Deno.readTextFile(join(ESBUILD_PACKAGE, "package.json"))).version;
  } catch {
    return; // not installed (e.g. `npm ci --omit=dev`): deno bundle fetches esbuild itself
  }
  const info = await run(["info", "--json"]);
  if (!info.ok) fail(`cannot read deno info: ${info.stderr.trim()}`);
  const denoDir: string = JSON.parse(info.stdout).denoDir;
  const target = join(denoDir, "dl", `esbuild-${version}-1`, "esbuild-linux-x64");
  try {
    await Deno.stat(target);
    return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${Deno.pid}.tmp`;
  await Deno.copyFile(join(ESBUILD_PACKAGE, "bin", "esbuild"), temp);
  await Deno.chmod(temp, 0o755);
  await Deno.rename(temp, target);
}

function warn(message: string): void {
  console.error(`nx build: warning: ${message}`);
}

/** `deno bundle` of ENTRY into `outDir`, with the extra flags (an import map) given. */
function bundle(outDir: string, flags: string[]) {
  return run([
    "bundle",
    "--quiet",
    "--code-splitting",
    "--platform",
    "deno",
    "--config",
    "deno.json",
    ...flags,
    "--outdir",
    outDir,
    ENTRY,
  ]);
}

/**
 * deno bundle of ENTRY into `out` with the start-up shims; without them (and a warning) when
 * they cannot be planned or the bundler refuses them.
 */
async function bundleInto(out: string): Promise<void> {
  let flags: string[] = [];
  try {
    const map = await startupImportMap(REPO, ENTRY, BUILD_DIR);
    const file = join(out, "..", "import_map.json");
    await Deno.writeTextFile(file, JSON.stringify(map, null, 2));
    flags = ["--import-map", file];
  } catch (e) {
    warn(`cannot shim the start-up graph's node: imports, bundling without: ${e}`);
  }
  let bundled = await bundle(out, flags);
  if (!bundled.ok && flags.length > 0) {
    warn(`cannot bundle with the start-up shims, bundling without:\n${bundled.stderr.trimEnd()}`);
    await Deno.remove(out, { recursive: true });
    await Deno.mkdir(out);
    bundled = await bundle(out, []);
  }
  if (!bundled.ok) fail(`cannot bundle ${ENTRY}:\n${bundled.stderr.trimEnd()}`);
}

/** Rewrites the chunks `names` of `dir` through `change` (which returns them all). */
async function rewrite(
  dir: string,
  names: string[],
  change: (chunks: Map<string, string>) => Map<string, string>,
): Promise<void> {
  const chunks = new Map<string, string>();
  for (const name of names) chunks.set(name, await Deno.readTextFile(join(dir, name)));
  for (const [name, text] of change(chunks)) {
    if (text !== chunks.get(name)) await Deno.writeTextFile(join(dir, name), text);
  }
}

async function listNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

export async function build(): Promise<string[]> {
  await seedEsbuild();
  await Deno.mkdir(BUILD_DIR, { recursive: true });
  // Unique per build, not per process: test files running in parallel share one pid.
  const next = join(BUILD_DIR, `.next-${Deno.pid}-${crypto.randomUUID()}`);
  await Deno.mkdir(join(next, "out"), { recursive: true });
  try {
    // The stamp's mtime is taken before the bundler reads a source: an edit made while it runs
    // is newer than the stamp, and bin/nx falls back to source.
    await Deno.writeFile(join(next, "stamp"), new Uint8Array());
    await bundleInto(join(next, "out"));
    const files = await listNames(join(next, "out"));
    if (!files.includes("main.js")) fail(`cannot bundle ${ENTRY}: no main.js in the output`);
    await rewrite(join(next, "out"), files, (chunks) => deferDynamicImports(lazyRequire(chunks)));
    for (const [chunk, specs] of Object.entries(await startupNodeImports(join(next, "out")))) {
      warn(`the bundle's start-up graph still loads ${specs.join(", ")} (${chunk})`);
    }
    // Chunks are named by the hash of what deno bundle wrote (the rewrite above is a function of
    // it: a build of the same sources gives the same files); main.js goes last, so a process that
    // starts meanwhile runs either the old main.js (whose chunks are still there) or the new one.
    for (const name of files.filter((n) => n !== "main.js")) {
      await Deno.rename(join(next, "out", name), join(BUILD_DIR, name));
    }
    await Deno.rename(join(next, "out", "main.js"), join(BUILD_DIR, "main.js"));
    for (const name of await listNames(BUILD_DIR)) {
      if (name.endsWith(".js") && !files.includes(name)) await Deno.remove(join(BUILD_DIR, name));
    }
    await Deno.rename(join(next, "stamp"), join(BUILD_DIR, "stamp"));
    return files;
  } finally {
    await Deno.remove(next, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const files = await build();
  const flags = ["--no-config", `--v8-flags=${BUNDLE_V8_FLAGS.join(",")}`];
  const smoke = await run([
    "run",
    "--allow-all",
    ...flags,
    join(BUILD_DIR, "main.js"),
    "--version",
  ]);
  if (!smoke.ok || !/^\d+\.\d+\.\d+\n$/.test(smoke.stdout)) {
    fail(`the bundle does not run: ${smoke.stderr.trim() || smoke.stdout.trim()}`);
  }
  const warm = join(REPO, ".ci", "warm_bundle.ts");
  const warmed = await run(["run", "--allow-all", ...flags, warm]);
  if (!warmed.ok) fail(`cannot load every chunk of the bundle: ${warmed.stderr.trim()}`);
  console.error(`nx build: build/main.js and ${files.length - 1} chunks`);
}
