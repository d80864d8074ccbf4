/**
 * The bundle's start-up graph without Deno's node compatibility layer. What `nx --version`,
 * `nx --help` and every command load before they run (cli/main.ts's static imports) reaches
 * `node:` modules only through commander (node:events, node:child_process, node:fs, node:path,
 * node:process, node:util) and nx's own path handling (node:path, node:url); loading any of them
 * makes Deno set up its node compatibility layer, which costs more than the rest of start-up
 * (docs/performance.md has the numbers). For the bundle only, {@link startupImportMap} points those
 * imports at the shims in this folder, which do the same from Deno's own APIs; the source path
 * (`deno run cli/main.ts`) keeps the real modules, and tests/bundle_parity_test.ts holds the two
 * to byte-identical output.
 *
 * `deno bundle` takes no esbuild plugin, so the redirection is an import map (`--import-map`),
 * which Deno applies to the repository's modules but not inside node_modules: the npm packages
 * concerned are copied out of node_modules first (build/.vendor/, named by their content) and the
 * map's scopes redirect their imports there. The runtime chunk's eager `node:module`, which
 * deno bundle adds for `require()` and every chunk imports, is made lazy by {@link lazyRequire}.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The start-up npm packages whose imports the bundle redirects, and where each one goes: a shim
 * of this folder (`*.ts`) or a file of another of these packages. Any other import of theirs
 * (other than a relative one) makes the build skip the shims (see {@link startupImportMap}).
 * commander reaches node:fs and node:child_process only for executable subcommands, which nx
 * has none of: those two shims throw.
 */
const PACKAGES: Record<string, Record<string, string>> = {
  "@commander-js/extra-typings": { commander: "commander/index.js" },
  commander: {
    "node:child_process": "child_process.ts",
    "node:events": "events.ts",
    "node:fs": "fs.ts",
    "node:path": "path.ts",
    "node:process": "process.ts",
    "node:util": "util.ts",
  },
};

/** The shims nx's own start-up modules get: exact for every function they export. */
const MODULE_SHIMS: Record<string, string> = { "node:path": "path.ts", "node:url": "url.ts" };

const SHIMS = new URL("./", import.meta.url);
const decoder = new TextDecoder();

interface InfoModule {
  specifier: string;
  kind?: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** The module graph of `entry` as Deno resolves it (`deno info --json`). */
async function moduleGraph(repo: string, entry: string): Promise<Map<string, InfoModule>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", "deno.json", entry],
    cwd: repo,
    env: { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info: ${decoder.decode(out.stderr).trim()}`);
  const info: { modules: InfoModule[] } = JSON.parse(decoder.decode(out.stdout));
  return new Map(info.modules.map((m) => [m.specifier, m]));
}

/** The modules `root` loads before it runs: its static imports, transitively. */
function staticClosure(graph: Map<string, InfoModule>, root: string): Set<string> {
  const seen = new Set<string>();
  const todo = [root];
  while (todo.length > 0) {
    const specifier = todo.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const d of graph.get(specifier)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  return seen;
}

async function filesUnder(dir: string, prefix = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const path = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) files.push(...await filesUnder(dir, path));
    else if (e.isFile) files.push(path);
  }
  return files.sort();
}

/** A package's static import specifiers (ESM source: `import … from "x"`, `export … from "x"`). */
function staticImports(source: string): string[] {
  const found: string[] = [];
  const pattern =
    /^\s*(?:import|export)\b[^'";()=]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(pattern)) found.push(m[1] ?? m[2]);
  return found;
}

/** A short, stable name for the contents of `files`. */
async function digestOf(
  files: { name: string; bytes: Uint8Array<ArrayBuffer> }[],
): Promise<string> {
  const parts = files.flatMap((f) => [`${f.name}\0${f.bytes.length}\0`, f.bytes]);
  const data = await new Blob(parts).arrayBuffer();
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...hash.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Copies PACKAGES out of node_modules into `<buildDir>/.vendor/<digest of their files>/`, after
 * checking that they are ES modules whose imports all have their PACKAGES entry. The copy is made
 * once per content and renamed into place whole, so builds running side by side (the tests run
 * several) share it and never see half of one.
 */
async function vendor(repo: string, buildDir: string): Promise<string> {
  const files: { name: string; bytes: Uint8Array<ArrayBuffer> }[] = [];
  for (const pkg of Object.keys(PACKAGES).sort()) {
    const dir = join(repo, "node_modules", pkg);
    const manifest = JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
    if (manifest.type !== "module") throw new Error(`${pkg} is not an ES module package`);
    for (const path of await filesUnder(dir)) {
      const bytes = await Deno.readFile(join(dir, path));
      if (path.endsWith(".js")) {
        for (const spec of staticImports(decoder.decode(bytes))) {
          if (!spec.startsWith(".") && !(spec in PACKAGES[pkg])) {
            throw new Error(`${pkg}/${path} imports ${spec}, which has no shim`);
          }
        }
      }
      files.push({ name: `${pkg}/${path}`, bytes });
    }
  }
  const digest = await digestOf(files);
  const target = join(buildDir, ".vendor", digest);
  if (!(await Deno.stat(target).then(() => true, () => false))) await copyInto(target, files);
  // copies of other contents (before an npm upgrade) are no build's any more
  for await (const e of Deno.readDir(join(buildDir, ".vendor"))) {
    if (e.name === digest || e.name.startsWith(".tmp-")) continue;
    await Deno.remove(join(buildDir, ".vendor", e.name), { recursive: true }).catch(() => {});
  }
  return target;
}

/** Writes `files` under a temporary name beside `target`, then renames the whole into place. */
async function copyInto(
  target: string,
  files: { name: string; bytes: Uint8Array<ArrayBuffer> }[],
): Promise<void> {
  const temp = join(target, "..", `.tmp-${crypto.randomUUID()}`);
  try {
    for (const f of files) {
      const path = join(temp, f.name);
      await Deno.mkdir(join(path, ".."), { recursive: true });
      await Deno.writeFile(path, f.bytes);
    }
    await Deno.rename(temp, target);
  } catch (e) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    // another build renamed the same copy into place first
    if (!(await Deno.stat(target).then(() => true, () => false))) throw e;
  }
}

/** An import map: `imports` for every module, `scopes` for the modules under a URL prefix. */
export interface ImportMap {
  imports: Record<string, string>;
  scopes: Record<string, Record<string, string>>;
}

/**
 * The import map that gives the start-up graph of `entry` (relative to `repo`) the shims: PACKAGES
 * from their copies (every import of them by nx's modules, start-up or not, so that the bundle
 * holds one commander), their imports redirected as PACKAGES says, and the MODULE_SHIMS imports of
 * nx's own start-up modules. Throws when a package has an import without a shim.
 */
export async function startupImportMap(
  repo: string,
  entry: string,
  buildDir: string,
): Promise<ImportMap> {
  const vendorDir = await vendor(repo, buildDir);
  const graph = await moduleGraph(repo, entry);
  const repoUrl = pathToFileURL(join(repo, "/")).href;
  const modulesUrl = `${repoUrl}node_modules/`;
  const isOwn = (s: string) => s.startsWith(repoUrl) && !s.startsWith(modulesUrl);
  const shim = (file: string) => new URL(file, SHIMS).href;
  const copy = (file: string) => pathToFileURL(join(vendorDir, file)).href;
  const map: ImportMap = { imports: {}, scopes: {} };
  for (const m of graph.values()) {
    if (!isOwn(m.specifier)) continue;
    for (const d of m.dependencies ?? []) {
      const file = d.code?.specifier.startsWith(modulesUrl)
        ? d.code.specifier.slice(modulesUrl.length)
        : undefined;
      if (file && Object.keys(PACKAGES).some((p) => file.startsWith(`${p}/`))) {
        map.imports[d.specifier] = copy(file);
      }
    }
  }
  for (const [pkg, redirects] of Object.entries(PACKAGES)) {
    map.scopes[pathToFileURL(join(vendorDir, pkg, "/")).href] = Object.fromEntries(
      Object.entries(redirects).map((
        [spec, to],
      ) => [spec, to.endsWith(".ts") ? shim(to) : copy(to)]),
    );
  }
  for (const specifier of staticClosure(graph, pathToFileURL(join(repo, entry)).href)) {
    if (!isOwn(specifier)) continue;
    const redirects: Record<string, string> = {};
    for (const d of graph.get(specifier)?.dependencies ?? []) {
      if (d.specifier in MODULE_SHIMS) redirects[d.specifier] = shim(MODULE_SHIMS[d.specifier]);
    }
    if (Object.keys(redirects).length > 0) map.scopes[specifier] = redirects;
  }
  return map;
}

/** What deno bundle puts in the runtime chunk for `require()`, which every chunk imports. */
const EAGER_REQUIRE = `import { createRequire as __deno_internal_createRequire } from "node:module";
var __require = __deno_internal_createRequire(import.meta.url);`;
/** The same `__require`, made by the first chunk that needs it (the runtime chunk's URL kept). */
const LAZY_REQUIRE =
  `// nx build: node:module comes with the chunks that require(), not at start-up (.ci/shims/mod.ts)
var __nx_require;
var __require = (id) => __nx_require(id);
var __nx_requireFrom = (createRequire) => {
  __nx_require ??= createRequire(import.meta.url);
};
export { __nx_requireFrom };`;
/** What a chunk that imports `__require` runs first: the node:module of deno bundle's line. */
const PROVIDE_REQUIRE = (runtime: string) =>
  `import { createRequire as __nx_createRequire } from "node:module";
import { __nx_requireFrom } from "./${runtime}";
__nx_requireFrom(__nx_createRequire);
`;

/**
 * The bundle's chunks with node:module moved out of the runtime chunk, which every chunk imports,
 * into the chunks that import `__require` (libSQL's, for its native addon; CommonJS packages that
 * require builtins): each of them hands node:module's createRequire to the runtime chunk before
 * its own code runs, and `__require` is what it was, `createRequire(<runtime chunk's URL>)`. Left
 * as deno bundle wrote them when `__require` is used other than imported and called.
 */
export function lazyRequire(chunks: Map<string, string>): Map<string, string> {
  const runtime = [...chunks].find(([, text]) => text.includes(EAGER_REQUIRE))?.[0];
  if (runtime === undefined) return chunks;
  const rest = chunks.get(runtime)!.replace(EAGER_REQUIRE, "");
  if (/\b__require\s*\(/.test(rest) || [...chunks.values()].some((t) => /\b__require\./.test(t))) {
    return chunks;
  }
  const name = runtime.replaceAll(".", "\\.");
  const imports = new RegExp(
    `^import\\s*\\{[^}]*\\b__require\\b[^}]*\\}\\s*from\\s*"\\./${name}";$`,
    "m",
  );
  return new Map([...chunks].map(([file, text]) => [
    file,
    file === runtime
      ? text.replace(EAGER_REQUIRE, LAZY_REQUIRE)
      : imports.test(text)
      ? PROVIDE_REQUIRE(runtime) + text
      : text,
  ]));
}

/** Every static import and re-export of an esbuild chunk (`import … from "x"`, `import "x"`). */
function chunkImports(text: string): string[] {
  const pattern = /^(?:import|export)\b[^;"'`]*?\bfrom\s*"([^"]+)";$|^import\s*"([^"]+)";$/gm;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? m[2]);
}

/**
 * The `node:` modules that the bundle in `dir` loads before `main.js` runs, by the chunk that
 * imports them: none, when the shims took effect.
 */
export async function startupNodeImports(dir: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  const seen = new Set<string>();
  const todo = ["main.js"];
  while (todo.length > 0) {
    const name = todo.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const spec of chunkImports(await Deno.readTextFile(join(dir, name)))) {
      if (spec.startsWith("./")) todo.push(spec.slice(2));
      else if (spec.startsWith("node:")) (found[name] ??= []).push(spec);
    }
  }
  return found;
}
