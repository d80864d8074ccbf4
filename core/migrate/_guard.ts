/**
 * The checks that keep a migration script inside its data directory where Deno's permission
 * model alone does not: links in the data tree, the script's own path, and modules the script
 * imports statically (Deno loads those without asking for read permission).
 */
import { isAbsolute, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";

const label = (step: MigrationStep) => `${step.from} → ${step.to}`;

export function escape(
  step: MigrationStep | undefined,
  reason: string,
  details: Record<string, unknown> = {},
): NxError {
  const what = step ? `cannot migrate ${label(step)}` : "cannot migrate";
  return new NxError("migration.escape", `${what}: ${reason}`, { details: { step, ...details } });
}

function ioFailed(action: string, path: string, e: unknown): NxError {
  const why = e instanceof Error ? e.message : String(e);
  return new NxError("io.failed", `cannot ${action} ${path}: ${why}`, { cause: e });
}

/** `path` lies strictly below `root` (both absolute and canonical). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && !isAbsolute(rel) && rel.split(sep)[0] !== "..";
}

/** The canonical path of a directory; the path itself must not be a symlink. */
export async function realDirectory(path: string, what: string): Promise<string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    throw ioFailed(`inspect the ${what}`, path, e);
  }
  if (info.isSymlink || !info.isDirectory) {
    throw escape(undefined, `the ${what} ${path} is not a plain directory`, { path });
  }
  return await Deno.realPath(path);
}

/**
 * The data directory becomes a `--allow-read=`/`--allow-write=` grant: it must be one plain
 * path (Deno splits the list on commas), not the file system root, and must not overlap the
 * bundle or Deno's cache directory (a script could otherwise rewrite later steps).
 */
export function checkDataDirGrant(dataDir: string, bundleDir: string, denoDir: string): void {
  if (/[,\0\n\r]/.test(dataDir) || resolve(dataDir, "..") === dataDir) {
    throw escape(undefined, `the data directory ${dataDir} cannot be granted on its own`, {
      path: dataDir,
    });
  }
  for (const [name, other] of [["bundle", bundleDir], ["cache", denoDir]]) {
    if (other === dataDir || isInside(dataDir, other) || isInside(other, dataDir)) {
      throw escape(undefined, `the data directory overlaps the ${name} directory`, {
        path: dataDir,
        other,
      });
    }
  }
}

/** A plain (no symlink anywhere on the way) regular file at `path`, which lies in `root`. */
async function isPlainFileIn(root: string, path: string): Promise<boolean> {
  if (!isInside(root, path)) return false;
  try {
    const info = await Deno.lstat(path);
    return info.isFile && !info.isSymlink && await Deno.realPath(path) === path;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw ioFailed("inspect", path, e);
  }
}

/**
 * The script's absolute path: a regular file inside the (canonical) bundle, reached without
 * links.
 */
export async function checkScript(bundleDir: string, step: MigrationStep): Promise<string> {
  // migrate: the script must be a bundle-relative path to a plain file of the bundle.
  const path = resolve(bundleDir, step.script);
  if (
    isAbsolute(step.script) || step.script.includes("\0") || !await isPlainFileIn(bundleDir, path)
  ) {
    throw escape(step, `the script ${step.script} is not a plain file inside the bundle`, {
      script: step.script,
    });
  }
  return path;
}

/**
 * Walks the data directory with lstat before each step. Fail-closed rule: only directories and
 * regular files with one hard link are allowed. Every symlink is refused, wherever it points
 * (Deno checks `--allow-read=<dir>` on the path as written, so a link inside the directory would
 * lead the script out of it); a hard-linked file could be the outside world's (or the old
 * version's) inode; devices, fifos and sockets have no place in app data.
 */
export async function checkDataTree(dataDir: string, step: MigrationStep): Promise<void> {
  const pending = [dataDir];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    try {
      for await (const entry of Deno.readDir(dir)) {
        const path = `${dir}${sep}${entry.name}`;
        const info = await Deno.lstat(path);
        const rel = relative(dataDir, path);
        if (info.isSymlink) {
          throw escape(step, `the data directory holds a symbolic link ${rel}`, { path: rel });
        }
        if (info.isDirectory) pending.push(path);
        else if (!info.isFile) {
          throw escape(step, `the data directory holds a special file ${rel}`, { path: rel });
        } else if ((info.nlink ?? 1) > 1) {
          throw escape(step, `the data directory holds a hard-linked file ${rel}`, { path: rel });
        }
      }
    } catch (e) {
      if (e instanceof NxError) throw e;
      throw ioFailed("inspect migration data in", dir, e);
    }
  }
}

interface Resolution {
  specifier?: unknown;
}
interface GraphModule {
  specifier?: unknown;
  dependencies?: { code?: Resolution; type?: Resolution }[];
  typesDependency?: { dependency?: Resolution };
}

/** Every resolved module specifier a `deno info --json` graph names. */
export function graphSpecifiers(infoJson: string): string[] | undefined {
  let graph: {
    roots?: unknown;
    modules?: GraphModule[];
    redirects?: Record<string, unknown>;
    npmPackages?: Record<string, unknown>;
  };
  try {
    graph = JSON.parse(infoJson);
  } catch {
    return undefined;
  }
  if (
    typeof graph !== "object" || graph === null || !Array.isArray(graph.roots) ||
    !Array.isArray(graph.modules)
  ) {
    return undefined;
  }
  const found: unknown[] = [...graph.roots];
  for (const m of graph.modules) {
    found.push(m?.specifier, m?.typesDependency?.dependency?.specifier);
    for (const d of m?.dependencies ?? []) found.push(d?.code?.specifier, d?.type?.specifier);
  }
  for (const [from, to] of Object.entries(graph.redirects ?? {})) found.push(from, to);
  for (const name of Object.keys(graph.npmPackages ?? {})) found.push(`npm:${name}`);
  const specifiers = found.filter((s) => s !== undefined);
  return specifiers.every((s) => typeof s === "string") ? specifiers as string[] : undefined;
}

/**
 * Deno reads statically imported modules (`import x from "/etc/passwd" with { type: "text" }`)
 * without a read permission check. A script may therefore import only `node:` built-ins and
 * plain files of its own bundle.
 */
export async function checkModuleGraph(
  infoJson: string,
  bundleDir: string,
  step: MigrationStep,
): Promise<void> {
  const specifiers = graphSpecifiers(infoJson);
  if (specifiers === undefined) {
    throw escape(step, "the script's module graph cannot be read");
  }
  for (const specifier of new Set(specifiers)) {
    if (specifier.startsWith("node:")) continue;
    let path: string | undefined;
    try {
      path = specifier.startsWith("file:") ? fileURLToPath(specifier) : undefined;
    } catch {
      path = undefined;
    }
    if (path === undefined || !await isPlainFileIn(bundleDir, path)) {
      throw escape(step, `the script imports ${specifier}, which is not a file of the bundle`, {
        specifier,
      });
    }
  }
}
