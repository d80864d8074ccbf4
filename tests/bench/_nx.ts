/** What the suites share about nx: fixture paths, the `nx` command line, file lists, a root. */
import { join } from "node:path";
import { DENO, FIXTURES, nx, NX_PERMISSIONS, REPO } from "../helpers.ts";
import type { Cmd } from "./_measure.ts";

export const BIG_BUNDLE = join(FIXTURES, "bundles", "big-1.0.0.nxb");
export const BIG_SRC = join(FIXTURES, "src", "big-1.0.0");
export const DEV_KEY = join(FIXTURES, "keys", "dev.key");
export const DEV_PUB = join(FIXTURES, "keys", "dev.pub");

/** The environment every nx run gets (as tests/helpers.ts runs it). */
export const NX_ENV = { NO_COLOR: "1", NX_MARKERS: "", SOURCE_DATE_EPOCH: "0" };

/** `nx <args>` exactly as users run it from source: `deno run <perms> cli/main.ts <args>`. */
export function nxCmd(args: string[]): Cmd {
  return denoRun(join(REPO, "cli", "main.ts"), args);
}

/** `deno run <nx's perms> <script> <args>` from the repo (same config, lock and cache as nx). */
export function denoRun(script: string, args: string[] = []): Cmd {
  return {
    cmd: DENO,
    args: ["run", ...NX_PERMISSIONS, script, ...args],
    cwd: REPO,
    env: NX_ENV,
  };
}

/** `sha256sum` over `files` (relative to `dir`) in one process: the hashing floor. */
export function sha256sumCmd(dir: string, files: string[]): Cmd {
  return { cmd: "sha256sum", args: ["--", ...files], cwd: dir };
}

/** Every regular file below `dir`, relative and sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    for await (const entry of Deno.readDir(rel ? join(dir, rel) : dir)) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) await visit(path);
      else if (entry.isFile) out.push(path);
    }
  };
  await visit("");
  return out.sort();
}

export async function totalBytes(dir: string, files: string[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await Deno.stat(join(dir, f))).size;
  return total;
}

export function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Runs the CLI once and insists on a successful `--json` envelope (setup and sanity checks). */
export async function nxOk(args: string[], root?: string): Promise<unknown> {
  const r = await nx([...args, "--json"], { root, env: NX_ENV });
  if (r.code !== 0 || r.json?.ok !== true) {
    throw new Error(`cannot run nx ${args.join(" ")}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  }
  return r.json.data;
}

/** A fresh state root under `dir` whose policy trusts the dev fixture key. */
export async function trustedRoot(dir: string): Promise<string> {
  const root = join(dir, "root");
  await nxOk(["pkg", "trust", "add", DEV_PUB, "--name", "dev"], root);
  return root;
}

/** Throws unless a `--json` run printed a successful envelope. */
export function expectOkEnvelope(stdout: string, what: string): void {
  let ok = false;
  try {
    ok = JSON.parse(stdout).ok === true;
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`cannot measure ${what}: it did not succeed\n${stdout}`);
}
