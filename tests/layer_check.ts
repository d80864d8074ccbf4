/**
 * The layer rule of HOUSE_STYLE.md, checked from source: pure folders never touch `Deno.*`,
 * effectful `node:` modules or the effect folders; `core` never imports `cli`; no import cycles.
 */
import { dirname, join, relative, resolve } from "node:path";
import { REPO } from "./helpers.ts";

/** Folders of core/ that must stay pure (no I/O). */
export const PURE = [
  "bundle",
  "trust",
  "version",
  "pack",
  "bytes",
  "api",
  "protocol",
  "plan",
  "solver",
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
];
/**
 * Modules the CLI may import directly instead of through their folder's mod.ts, to keep start-up
 * light (a face re-exports its whole folder). Verbs load core/pkgr/* lazily with import().
 */
export const START_UP_IMPORTS = [
  "core/store/paths.ts",
  "core/version/nx_version.ts",
  "core/errors.ts",
  "core/api/failure.ts",
];
const EFFECT_NODE_MODULES =
  /^node:(fs|fs\/promises|child_process|net|http|https|os|process|worker_threads|dgram|tls)$/;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) out.push(...await sources(path));
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

/** Runtime imports only: `import type` / `export type` create no dependency at run time. */
function importsOf(text: string): string[] {
  return [
    ...text.matchAll(/(?:import|export)\s(?!type\s)[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g),
  ]
    .map((m) => m[1] ?? m[2]);
}

function isDynamic(text: string, spec: string): boolean {
  return text.includes(`import("${spec}")`);
}

function folderOf(file: string): string | undefined {
  const rel = relative(join(REPO, "core"), file);
  return rel.startsWith("..") ? undefined : rel.split("/")[0];
}

export async function checkLayers(): Promise<string[]> {
  const problems: string[] = [];
  const files = [...await sources(join(REPO, "core")), ...await sources(join(REPO, "cli"))];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    const rel = relative(REPO, file);
    const folder = folderOf(file);
    const pure = folder !== undefined && PURE.includes(folder);
    const local: string[] = [];
    for (const spec of importsOf(text)) {
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        local.push(target);
        const targetFolder = folderOf(target);
        const targetRel = relative(REPO, target);
        const crossFolder = targetFolder !== undefined && targetFolder !== folder &&
          !targetRel.endsWith("/mod.ts");
        const allowed = START_UP_IMPORTS.includes(targetRel) || targetRel === "core/errors.ts";
        if (crossFolder && !allowed && !isDynamic(text, spec)) {
          problems.push(`${rel}: imports ${spec} instead of its folder's mod.ts`);
        }
        if (pure && targetFolder && EFFECT.includes(targetFolder)) {
          problems.push(`${rel}: pure module imports ${spec}`);
        }
        if (folder !== undefined && relative(REPO, target).startsWith("cli/")) {
          problems.push(`${rel}: core imports cli (${spec})`);
        }
      } else if (pure && EFFECT_NODE_MODULES.test(spec)) {
        problems.push(`${rel}: pure module imports ${spec}`);
      } else if (pure && spec.startsWith("@libsql/")) {
        problems.push(`${rel}: pure module imports ${spec}`);
      }
    }
    if (pure && /\bDeno\.(?!test\b)/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ""))) {
      problems.push(`${rel}: pure module uses Deno.*`);
    }
    graph.set(file, local);
  }
  problems.push(
    ...findCycles(graph).map((c) => `import cycle: ${c.map((f) => relative(REPO, f)).join(" → ")}`),
  );
  return problems;
}

function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "visiting") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next) && graph.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

if (import.meta.main) {
  const problems = await checkLayers();
  for (const p of problems) console.error(p);
  console.log(problems.length === 0 ? "layers ok" : `${problems.length} layer problem(s)`);
  if (problems.length > 0) Deno.exit(1);
}
