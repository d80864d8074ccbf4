/**
 * The root with many installed apps that the list and doctor suites share, prepared once per
 * bench run (untimed), the fastest honest way:
 *
 * 1. through the CLI: trust the dev key, install notes-1.0.0, textkit-1.0.0, reader-1.0.0 (which
 *    depends on textkit), then upgrade notes to 1.1.0 (its data migration runs), so notes holds
 *    two retained versions with their data;
 * 2. the other apps, app-0001…, are clones of notes: registry rows written with the project's
 *    registry module (`register()` of notes' own record with another id, under the root's writer
 *    lock), and matching trees apps/<id>/{versions,data}/<v> copied from notes' files (copies,
 *    not hard links: the bundle reader skips files with more than one link, so doctor would
 *    report every hard-linked file), with a `current` link to the active version;
 * 3. one `sync -f` so the copies' writeback does not land in the samples.
 */
import { join } from "node:path";
import { openRegistry, registryUrlForFile } from "../../core/registry/mod.ts";
import { acquireLock } from "../../core/store/lock.ts";
import { rootPaths } from "../../core/store/root.ts";
import { runProcess } from "./_measure.ts";
import { fixtureBundle, listFiles, nxOk, trustedRoot } from "./_nx.ts";

/** Apps in the shared root: 1,000 as the issue asks, 20 in `--quick` mode. */
export function appCount(quick: boolean): number {
  return quick ? 20 : 1000;
}

const TEMPLATE_APP = "notes";
const REAL = ["notes-1.0.0", "textkit-1.0.0", "reader-1.0.0"];

export interface AppsRoot {
  root: string;
  /** The apps installed through the CLI (bundle ids) and the ids of the clones. */
  real: string[];
  clones: string[];
  /** How long the preparation took (ms), for the log. */
  prepMs: number;
}

/** Every entry below `dir` (relative): directories first-to-last in walk order, files, links. */
async function walk(dir: string) {
  const dirs: string[] = [];
  const files: string[] = [];
  const links: { path: string; target: string }[] = [];
  const visit = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? join(dir, rel) : dir)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymlink) links.push({ path, target: await Deno.readLink(join(dir, path)) });
      else if (e.isDirectory) {
        dirs.push(path);
        await visit(path);
      } else files.push(path);
    }
  };
  await visit("");
  return { dirs, files, links };
}

/** Clones the template app's registry record and tree as app-0001… (`count` clones). */
async function addClones(root: string, count: number): Promise<string[]> {
  const paths = rootPaths(root);
  const ids = Array.from({ length: count }, (_, i) => `app-${String(i + 1).padStart(4, "0")}`);
  const source = join(paths.apps, TEMPLATE_APP);
  const tree = await walk(source);
  for (const id of ids) {
    const dir = join(paths.apps, id);
    await Deno.mkdir(dir);
    for (const d of tree.dirs) await Deno.mkdir(join(dir, d));
    for (const f of tree.files) await Deno.copyFile(join(source, f), join(dir, f));
    for (const l of tree.links) await Deno.symlink(l.target, join(dir, l.path));
  }
  const lock = await acquireLock(paths, "bench");
  const registry = await openRegistry(registryUrlForFile(paths.registryDb));
  try {
    const record = await registry.get(TEMPLATE_APP);
    if (!record) throw new Error(`cannot clone ${TEMPLATE_APP}: not in the registry`);
    for (const id of ids) await registry.register({ ...record, id });
  } finally {
    registry.close();
    lock.release();
  }
  return ids;
}

async function prepare(dir: string, apps: number): Promise<AppsRoot> {
  const start = performance.now();
  await Deno.mkdir(dir, { recursive: true });
  const root = await trustedRoot(dir);
  for (const id of REAL) await nxOk(["pkg", "install", fixtureBundle(id)], root);
  await nxOk(["pkg", "upgrade", fixtureBundle("notes-1.1.0")], root);
  const clones = await addClones(root, apps - REAL.length);
  await runProcess({ cmd: "sync", args: ["-f", root] });
  return { root, real: REAL, clones, prepMs: performance.now() - start };
}

const prepared = new Map<string, Promise<AppsRoot>>();

/** The root with `apps` apps under `<shared>/apps-root-<apps>`, made on first use in a run. */
export function appsRoot(shared: string, apps: number): Promise<AppsRoot> {
  const dir = join(shared, `apps-root-${apps}`);
  let root = prepared.get(dir);
  if (!root) {
    root = prepare(dir, apps);
    prepared.set(dir, root);
  }
  return root;
}

/** Every file of every retained version of `ids` (root-relative): what doctor re-hashes. */
export async function retainedFiles(root: string, ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of ids) {
    for (const f of await listFiles(join(root, "apps", id, "versions"))) {
      out.push(`apps/${id}/versions/${f}`);
    }
  }
  return out;
}
