/** What the suites share about nx: fixture paths, the `nx` command line, file lists, a root. */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { ELF_PAYLOAD_FILE } from "../../core/bundle/layout.ts";
import { filler } from "../../fixtures/catalog.ts";
import { DENO, FIXTURES, nx, NX_PERMISSIONS, REPO } from "../helpers.ts";
import { type BigApp, type Cmd, runProcess } from "./_measure.ts";

/** A committed fixture bundle by id, e.g. "notes-1.0.0". */
export function fixtureBundle(id: string): string {
  return join(FIXTURES, "bundles", `${id}.nxb`);
}

export const BIG_BUNDLE = fixtureBundle("big-1.0.0");
export const BIG_SRC = join(FIXTURES, "src", "big-1.0.0");
export const DEV_KEY = join(FIXTURES, "keys", "dev.key");
export const DEV_PUB = join(FIXTURES, "keys", "dev.pub");

/** The committed big app. */
export const BIG: BigApp = { bundle: BIG_BUNDLE, src: BIG_SRC };

/**
 * `--quick`'s big app: big-1.0.0's source under `dir` with a 1 MiB payload and its first 16
 * assets, packed and signed with the dev key as `<dir>/big-1.0.0.nxb` (same name and version).
 */
export async function smallerBig(dir: string): Promise<BigApp> {
  const src = join(dir, "big-1.0.0-src");
  await cp(BIG_SRC, src, { recursive: true });
  await Deno.writeFile(
    join(src, ELF_PAYLOAD_FILE),
    filler("big-1.0.0 payload", 1024 * 1024, true),
  );
  const assets = (await listFiles(src)).filter((f) => f.startsWith("assets/"));
  for (const f of assets.slice(16)) await Deno.remove(join(src, f));
  const bundle = join(dir, "big-1.0.0.nxb");
  await nxOk(["pkg", "pack", src, "--key", DEV_KEY, "--out", bundle]);
  return { bundle, src };
}

/** The environment every nx run gets (as tests/helpers.ts runs it). */
/**
 * NX_CLI=bundle unless the caller chose: bin/nx then refuses a stale bundle (`deno task build`)
 * instead of quietly running the source, which users do not run.
 */
export const NX_ENV = {
  NO_COLOR: "1",
  NX_MARKERS: "",
  SOURCE_DATE_EPOCH: "0",
  NX_CLI: Deno.env.get("NX_CLI") ?? "bundle",
};

/** The launcher users run (`npm link` puts it on PATH as `nx`). */
export const NX_BIN = join(REPO, "bin", "nx");

/** `nx <args>` exactly as users run it: through the launcher bin/nx, from the repository. */
export function nxCmd(args: string[]): Cmd {
  return { cmd: NX_BIN, args, cwd: REPO, env: NX_ENV };
}

/**
 * `deno run <nx's perms> <flags> <script> <args>` from the repo (same config, lock and cache as
 * nx; `--no-config` in `flags` for a script that runs the bundle, as bin/nx runs it).
 */
export function denoRun(script: string, args: string[] = [], flags: string[] = []): Cmd {
  return {
    cmd: DENO,
    args: ["run", ...NX_PERMISSIONS, ...flags, script, ...args],
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

/** Every directory holding one of `files` (relative), including "." for the top. */
export function directoriesOf(files: string[]): string[] {
  const dirs = new Set<string>(["."]);
  for (const f of files) {
    const parts = f.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  return [...dirs].sort();
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

/** A copy of `template` (a prepared root) at `dest`, with `cp -a` (preparation, never timed). */
export async function cloneRoot(template: string, dest: string): Promise<string> {
  await runProcess({ cmd: "cp", args: ["-a", "--", template, dest] });
  return dest;
}

export interface VariantSpec {
  /** Manifest `name` and `version` of the variant. */
  name: string;
  version: string;
  /** Regenerate payload.elf at this size (deterministic filler, labelled by name and version). */
  payloadBytes?: number;
  /** Keep only these files under assets/ (relative to the source); default: keep all. */
  keepAssets?: string[];
}

/**
 * Packs a variant of a fixture source (e.g. big-1.1.0 from big-1.0.0): copies `src`, rewrites
 * `name` and `version` in manifest.toml, optionally regenerates the payload and drops assets,
 * then `nx pkg pack … --key dev.key --force` into `<dir>/<name>-<version>.nxb`.
 */
export async function packVariant(src: string, dir: string, spec: VariantSpec): Promise<string> {
  const id = `${spec.name}-${spec.version}`;
  const copy = join(dir, `src-${id}`);
  await cp(src, copy, { recursive: true });
  const manifestPath = join(copy, "manifest.toml");
  const toml = (await Deno.readTextFile(manifestPath))
    .replace(/^name = ".*"$/m, `name = "${spec.name}"`)
    .replace(/^version = ".*"$/m, `version = "${spec.version}"`);
  await Deno.writeTextFile(manifestPath, toml);
  if (spec.payloadBytes !== undefined) {
    await Deno.writeFile(
      join(copy, ELF_PAYLOAD_FILE),
      filler(`${id} payload`, spec.payloadBytes, true),
    );
  }
  if (spec.keepAssets) {
    const keep = new Set(spec.keepAssets);
    for (const f of await listFiles(copy)) {
      if (f.startsWith("assets/") && !keep.has(f)) await Deno.remove(join(copy, f));
    }
  }
  const out = join(dir, `${id}.nxb`);
  await nxOk(["pkg", "pack", copy, "--key", DEV_KEY, "--out", out, "--force"]);
  await Deno.remove(copy, { recursive: true });
  return out;
}
