/**
 * The layer rule of HOUSE_STYLE.md and docs/architecture.md, checked on the real module graph:
 * `deno info --json` (the resolver Deno itself runs, as denoland/std's dependency check reads it)
 * lists every module of cli/ and core/ with each import, static or dynamic, code or type-only.
 *
 * - A pure folder depends on no effect folder, no cli module and no effectful `node:` module or
 *   libSQL — not even by type — and its text never uses `Deno.*`.
 * - core never depends on cli.
 * - Another folder is entered through its mod.ts, except by a dynamic import (lazy loading), for
 *   the few light modules ({@link LIGHT_MODULES}), which load no npm package, and for the side
 *   entries ({@link SIDE_ENTRIES}) that a folder's mod.ts must not load.
 * - No cycle between folders (type edges included), and no cycle between modules at run time.
 * - The CLI reaches the service only through the contract: core/pkgr and the effect folders are
 *   imported by cli/ only where {@link CLI_EFFECT_IMPORTS} allows (cli/service.ts builds the Pkgr;
 *   the verbs that touch no root, and completion, use what they need).
 * - Start-up stays lean: the static run-time graph of cli/main.ts holds no npm package but the
 *   command-line parser and the completion engine, and no core module outside LIGHT_MODULES and
 *   what they import (no zod schemas, no libSQL: `nx --version` loads neither).
 * - A transaction builds none of the contract's schemas: the static graph of each module of
 *   {@link SCHEMA_FREE} holds no core/api module outside LIGHT_MODULES (the journal parser and
 *   the method table load only when a journal is read or a request is checked), and no classic
 *   zod: the schemas verify, install and pack parse with are zod/mini ones (core/schema/mod.ts).
 *
 * `deno run --allow-read --allow-run tests/layer_check.ts` prints `layers ok`.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { join, relative } from "node:path";
import { REPO } from "./helpers.ts";

/** Folders of core/ that must stay pure (no I/O). */
export const PURE = [
  "bundle",
  "schema",
  "trust",
  "version",
  "pack",
  "bytes",
  "api",
  "protocol",
  "plan",
  "solver",
  "entitlement",
];
/** Folders of core/ that perform effects. */
export const EFFECT = [
  "store",
  "registry",
  "apply",
  "transport",
  "agent",
  "migrate",
  "pkgr",
  "licensed",
  "qemu",
  "selftest",
];
/**
 * Light modules: any folder may import them directly instead of through their folder's mod.ts
 * (a face re-exports its whole folder, schemas included). They load no npm package — checked —
 * so start-up and the paths that need no schema (verify, inspect, trust, policy) stay light.
 */
export const LIGHT_MODULES = [
  "core/store/paths.ts",
  "core/version/nx_version.ts",
  "core/errors.ts",
  "core/api/failure.ts",
  "core/api/events.ts",
  "core/plan/types.ts",
  "core/api/vocabulary.ts",
];
/**
 * Modules entered from another folder beside its mod.ts, because loading them with it would cost
 * every importer: the plan's zod schemas, which only the journal parser (core/apply/
 * journal_format.ts, itself loaded only when a journal is read) uses, and the manifest view's,
 * which only the contract and the plan parse with.
 */
export const SIDE_ENTRIES = ["core/plan/schema.ts", "core/bundle/view_schema.ts"];
/** Modules whose static run-time graph loads no schema of the contract (core/api). */
export const SCHEMA_FREE = ["core/pkgr/service.ts"];
/** npm packages start-up may load: the command-line parser and the completion engine. */
export const START_UP_PACKAGES = ["@commander-js/extra-typings/", "commander/", "@bomb.sh/tab/"];
/**
 * The CLI's only run-time imports of core/pkgr and the effect folders. Root commands never call
 * core/pkgr: cli/root_command.ts sends their requests to the Pkgr that cli/service.ts builds.
 */
export const CLI_EFFECT_IMPORTS: Record<string, string[]> = {
  "cli/service.ts": ["core/pkgr/pkgr.ts", "core/apply/faults.ts"],
  // The host side of a remote root command: the transport, and the identity key it signs with.
  "cli/remote.ts": ["core/transport/mod.ts"],
  "cli/connect.ts": ["core/transport/mod.ts", "core/pkgr/keys.ts"],
  "cli/fleet.ts": ["core/transport/mod.ts"],
  // `nx agent` serves a root: not a root command, it is the service on the other end.
  "cli/agent.ts": [
    "core/agent/mod.ts",
    "core/pkgr/keys.ts",
    "core/transport/mod.ts",
    "core/apply/faults.ts",
  ],
  // Reads a key file on the caller's side: the request carries the public key's text.
  "cli/pkg_trust.ts": ["core/pkgr/keys.ts"],
  "cli/licensed.ts": ["core/pkgr/keys.ts"],
  // The dev store is the host's: its signing key is read here; the root is reached by Pkgr calls.
  "cli/store.ts": ["core/pkgr/keys.ts"],
  // Not root commands: they use no state root (keygen, pack), or build their own (demo, whose
  // steps on the root are Pkgr calls).
  "cli/pkg_keygen.ts": ["core/pkgr/keys.ts"],
  "cli/pkg_pack.ts": ["core/pkgr/keys.ts", "core/pkgr/pack.ts"],
  "cli/demo.ts": ["core/pkgr/keys.ts", "core/pkgr/pack.ts"],
  // `nx selftest` runs its scenario through the Pkgr it is given (local or remote).
  "cli/selftest.ts": ["core/selftest/mod.ts"],
  // `nx qemu` runs a guest (no root of this host); it reads key files on the caller's side.
  "cli/qemu.ts": ["core/qemu/mod.ts", "core/pkgr/keys.ts"],
  // Completion reads the root's publishers without a lock on every Tab.
  "cli/completion.ts": ["core/pkgr/trust_admin.ts", "core/store/paths.ts"],
};
const EFFECT_NODE_MODULES =
  /^node:(fs|fs\/promises|child_process|net|http|https|os|process|worker_threads|dgram|tls|async_hooks)$/;

export interface Edge {
  from: string;
  to: string;
  /** Run time (a value is imported), or type-only (erased at run time). */
  code: boolean;
  dynamic: boolean;
}

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier: string };
    type?: { specifier: string };
    isDynamic?: boolean;
  }[];
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await sources(path));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(path);
  }
  return out.sort();
}

/** A module's name in messages: repository-relative for files, the specifier otherwise. */
function nameOf(specifier: string): string {
  return specifier.startsWith("file:") ? relative(REPO, fileURLToPath(specifier)) : specifier;
}

/** The module graph of `files`, from one `deno info --json` of a module importing them all. */
export async function moduleGraph(files: string[]): Promise<Edge[]> {
  const root = files.map((f) => `import "${pathToFileURL(f).href}";`).join("\n");
  const entry = `data:application/typescript;base64,${btoa(root)}`;
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) throw new Error(`deno info failed: ${new TextDecoder().decode(run.stderr)}`);
  const info: { modules: InfoModule[] } = JSON.parse(new TextDecoder().decode(run.stdout));
  const edges: Edge[] = [];
  for (const m of info.modules) {
    if (m.specifier === entry) continue;
    for (const d of m.dependencies ?? []) {
      const to = d.code?.specifier ?? d.type?.specifier;
      if (!to) continue;
      edges.push({
        from: nameOf(m.specifier),
        to: nameOf(to),
        code: d.code !== undefined,
        dynamic: d.isDynamic === true,
      });
    }
  }
  return edges;
}

/** The unit the folder rules are about: `core/<folder>`, `core/errors.ts`, `cli`, or none. */
function unitOf(module: string): string | undefined {
  if (module.startsWith("cli/")) return "cli";
  if (!module.startsWith("core/")) return undefined;
  const parts = module.split("/");
  return parts.length === 2 ? module : `core/${parts[1]}`;
}

const folderOf = (module: string) => unitOf(module)?.replace(/^core\//, "");
const isPure = (module: string) => PURE.includes(folderOf(module) ?? "");
const isEffect = (module: string) => EFFECT.includes(folderOf(module) ?? "");
const npmPackage = (module: string) => module.match(/^node_modules\/((?:@[^/]+\/)?[^/]+\/)/)?.[1];

function layerProblems(edges: Edge[]): string[] {
  const problems: string[] = [];
  for (const e of edges) {
    const kind = e.code ? "imports" : "imports (type only)";
    const from = unitOf(e.from);
    const to = unitOf(e.to);
    if (isPure(e.from)) {
      if (isEffect(e.to) || to === "cli") problems.push(`${e.from}: pure module ${kind} ${e.to}`);
      if (EFFECT_NODE_MODULES.test(e.to) || npmPackage(e.to)?.startsWith("@libsql/")) {
        problems.push(`${e.from}: pure module ${kind} ${e.to}`);
      }
    }
    if (from?.startsWith("core/") && to === "cli") problems.push(`${e.from}: core ${kind} ${e.to}`);
    const crossFolder = from !== undefined && to !== undefined && from !== to &&
      to.startsWith("core/") && to !== "core/errors.ts";
    if (
      crossFolder && !e.to.endsWith("/mod.ts") && !e.dynamic && !LIGHT_MODULES.includes(e.to) &&
      !SIDE_ENTRIES.includes(e.to)
    ) {
      problems.push(`${e.from}: imports ${e.to} instead of its folder's mod.ts`);
    }
    if (from === "cli" && e.code && isEffect(e.to) && !LIGHT_MODULES.includes(e.to)) {
      if (!(CLI_EFFECT_IMPORTS[e.from] ?? []).includes(e.to)) {
        problems.push(
          `${e.from}: imports ${e.to}: the CLI calls the service only through the contract (cli/service.ts)`,
        );
      }
    }
  }
  return problems;
}

function cycles(graph: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of [...(graph.get(node) ?? [])].sort()) {
      if (state.get(next) === "visiting") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

function add(graph: Map<string, Set<string>>, from: string, to: string): void {
  if (!graph.has(from)) graph.set(from, new Set());
  graph.get(from)!.add(to);
}

function cycleProblems(edges: Edge[]): string[] {
  const folders = new Map<string, Set<string>>();
  const modules = new Map<string, Set<string>>();
  for (const e of edges) {
    const from = unitOf(e.from);
    const to = unitOf(e.to);
    if (from && to && from !== to) add(folders, from, to);
    if (from && to && e.code) add(modules, e.from, e.to);
  }
  return [
    ...cycles(folders).map((c) => `folder cycle: ${c.join(" → ")}`),
    ...cycles(modules).map((c) => `import cycle: ${c.join(" → ")}`),
  ];
}

/** Everything `entry` loads before it runs: static run-time imports, transitively. */
function staticClosure(edges: Edge[], entries: string[]): Set<string> {
  const next = new Map<string, string[]>();
  for (const e of edges) {
    if (e.code && !e.dynamic) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  }
  const seen = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const m = todo.pop()!;
    if (seen.has(m)) continue;
    seen.add(m);
    todo.push(...(next.get(m) ?? []));
  }
  return seen;
}

function startUpProblems(edges: Edge[]): string[] {
  const loaded = staticClosure(edges, ["cli/main.ts"]);
  const allowed = staticClosure(edges, LIGHT_MODULES);
  const problems: string[] = [];
  for (const light of LIGHT_MODULES) {
    for (const m of staticClosure(edges, [light])) {
      const pkg = npmPackage(m);
      if (pkg) problems.push(`light module ${light} loads ${pkg.slice(0, -1)} (${m})`);
    }
  }
  for (const m of [...loaded].sort()) {
    const pkg = npmPackage(m);
    if (pkg && !START_UP_PACKAGES.includes(pkg)) {
      problems.push(`start-up loads ${pkg.slice(0, -1)} (${m}): import it lazily`);
    } else if (m.startsWith("core/") && !allowed.has(m)) {
      problems.push(`start-up loads ${m}: import it lazily (or only its types)`);
    }
  }
  return problems;
}

/** A module of zod's classic entry: `zod`, `zod/v4`, … (deno info shows a package's entries). */
const isClassicZod = (module: string) =>
  module.startsWith("node_modules/zod/") &&
  !/^node_modules\/zod\/(?:v4\/)?(?:mini|core|locales)\//.test(module);

function schemaFreeProblems(edges: Edge[]): string[] {
  return SCHEMA_FREE.flatMap((entry) => {
    const loaded = [...staticClosure(edges, [entry])].sort();
    const contract = loaded.filter((m) => m.startsWith("core/api/") && !LIGHT_MODULES.includes(m))
      .map((m) => `${entry} loads ${m}: import its types only, or the light module it needs`);
    const classic = loaded.filter(isClassicZod).slice(0, 1)
      .map((m) => `${entry} loads classic zod (${m}): build its schemas with zod/mini`);
    return [...contract, ...classic];
  });
}

function pureTextProblems(file: string, text: string): string[] {
  const code = text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
  return /\bDeno\.(?!test\b)/.test(code) ? [`${file}: pure module uses Deno.*`] : [];
}

/** Every problem of a graph and the text of its pure modules (module name → source). */
export function problemsOf(edges: Edge[], pureTexts: Map<string, string>): string[] {
  const problems = [
    ...layerProblems(edges),
    ...cycleProblems(edges),
    ...startUpProblems(edges),
    ...schemaFreeProblems(edges),
  ];
  for (const [module, text] of pureTexts) problems.push(...pureTextProblems(module, text));
  return [...new Set(problems)];
}

export async function checkLayers(): Promise<string[]> {
  const files = [...await sources(join(REPO, "core")), ...await sources(join(REPO, "cli"))];
  const texts = new Map<string, string>();
  for (const file of files) {
    const rel = relative(REPO, file);
    if (isPure(rel)) texts.set(rel, await Deno.readTextFile(file));
  }
  return problemsOf(await moduleGraph(files), texts);
}

if (import.meta.main) {
  const problems = await checkLayers();
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? "layers ok" : `${problems.length} layer problem(s)`);
  if (problems.length > 0) Deno.exit(1);
}
