/** Shared test helpers: run the real CLI as a subprocess, temp roots, fixture copies. */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { cp } from "node:fs/promises";
import { createHash } from "node:crypto";
import { BUNDLE_V8_FLAGS } from "../.ci/build.ts";

export const REPO = fileURLToPath(new URL("..", import.meta.url));
export const FIXTURES = join(REPO, "fixtures");
export const DENO = Deno.execPath();
export const NX_PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
  "--allow-net",
];

/**
 * Deno's flags for a run of build/, as bin/nx runs it; `v8` adds V8 flags. A run with other V8
 * flags would not use, and would replace, the code cache the launcher's runs left (it is keyed to
 * them).
 */
export function bundleFlags(v8: string[] = []): string[] {
  return ["--no-config", `--v8-flags=${[...BUNDLE_V8_FLAGS, ...v8].join(",")}`];
}

export interface NxRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The parsed envelope when stdout is one JSON line. */
  // deno-lint-ignore no-explicit-any
  json?: { ok: boolean; class: string; code: string; message: string; data?: any };
}

export interface NxOptions {
  root?: string;
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
}

/**
 * The command line that runs `nx <args>`. With NX_CLI=bundle (tests/run_all.ts sets it once the
 * bundle is fresh) the prebuilt bundle build/main.js, run as bin/nx runs it but without bin/nx's
 * `sh` and `find` on every command; else the source (`deno run cli/main.ts`). The first use of the
 * bundle in a test file asks bin/nx whether it is fresh, and refuses a stale one.
 */
export function nxCommandLine(args: string[]): { cmd: string; args: string[] } {
  if (Deno.env.get("NX_CLI") === "bundle") {
    assertBundleFresh();
    return { cmd: DENO, args: ["run", ...NX_PERMISSIONS, ...bundleFlags(), BUNDLE_MAIN, ...args] };
  }
  return { cmd: DENO, args: ["run", ...NX_PERMISSIONS, join(REPO, "cli", "main.ts"), ...args] };
}

const BUNDLE_MAIN = join(REPO, "build", "main.js");
let bundleChecked = false;

function assertBundleFresh(): void {
  if (bundleChecked) return;
  if (!bundleIsFresh()) throw new Error("NX_CLI=bundle, but build/ is older than the sources");
  bundleChecked = true;
}

/** Whether build/ is newer than every source: bin/nx's own check (NX_CLI=bundle refuses else). */
export function bundleIsFresh(): boolean {
  return new Deno.Command(join(REPO, "bin", "nx"), {
    args: ["--version"],
    env: { NX_CLI: "bundle" },
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
}

/** Runs `nx <args>` exactly as users do ({@link nxCommandLine}). */
export async function nx(args: string[], options: NxOptions = {}): Promise<NxRun> {
  const rootArgs = options.root ? ["--root", options.root] : [];
  const line = nxCommandLine([...args, ...rootArgs]);
  const command = new Deno.Command(line.cmd, {
    args: line.args,
    cwd: options.cwd ?? REPO,
    env: { NO_COLOR: "1", NX_MARKERS: "", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  let json;
  if (args.includes("--json")) {
    try {
      json = JSON.parse(stdout);
    } catch {
      json = undefined;
    }
  }
  return { code: out.code, stdout, stderr, json };
}

/** Starts `nx <args> --root <root> --json` without waiting (for kill and concurrency tests). */
export function spawnNx(
  args: string[],
  root: string,
  env: Record<string, string>,
  output: "piped" | "null" = "null",
): Deno.ChildProcess {
  const line = nxCommandLine([...args, "--root", root, "--json"]);
  return new Deno.Command(line.cmd, {
    args: line.args,
    env: { NO_COLOR: "1", ...env },
    stdout: output,
    stderr: output,
  }).spawn();
}

export async function tempDir(prefix = "nx-test-"): Promise<string> {
  return await Deno.makeTempDir({ prefix });
}

/** A fresh copy of a committed fixture bundle, e.g. "notes-1.0.0", as `<dir>/<name>.nxb`. */
export async function copyFixture(id: string, dir?: string): Promise<string> {
  const parent = dir ?? await tempDir();
  const target = join(parent, `${id.split("-")[0]}.nxb`);
  await cp(join(FIXTURES, "bundles", `${id}.nxb`), target, { recursive: true });
  return target;
}

/** A root whose policy trusts the fixture publishers named (default: dev). */
export async function trustedRoot(keys: string[] = ["dev"]): Promise<string> {
  const root = join(await tempDir(), "root");
  for (const key of keys) {
    const r = await nx([
      "pkg",
      "trust",
      "add",
      join(FIXTURES, "keys", `${key}.pub`),
      "--name",
      key,
      "--json",
    ], { root });
    if (r.code !== 0) throw new Error(`trust add failed: ${r.stdout}${r.stderr}`);
  }
  return root;
}

/** Every entry below `dir` with its SHA-256 (or link target), for "nothing was written" checks. */
export async function snapshotTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (abs: string, rel: string) => {
    let entries;
    try {
      entries = Deno.readDir(abs);
      for await (const e of entries) {
        const path = rel ? `${rel}/${e.name}` : e.name;
        const full = join(abs, e.name);
        if (e.isDirectory) {
          out.set(path + "/", "dir");
          await visit(full, path);
        } else if (e.isSymlink) out.set(path, `-> ${await Deno.readLink(full)}`);
        else out.set(path, createHash("sha256").update(await Deno.readFile(full)).digest("hex"));
      }
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  };
  await visit(dir, "");
  return out;
}

/** Flips one bit of the byte at `offset` (negative counts from the end). */
export async function flipByte(path: string, offset = 0): Promise<void> {
  const bytes = await Deno.readFile(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] ^= 0x01;
  await Deno.writeFile(path, bytes);
}

function processState(pid: number): string {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
}

/**
 * Starts `nx <args> --root <root> --json` frozen right before `step` (`NX_FAULT=stop:<step>`)
 * and resolves once it has stopped itself: the test then changes the world at exactly that point
 * and sends SIGCONT (or SIGKILL). Polls the process state, a condition rather than a deadline.
 * `moreFaults` are further NX_FAULT items (e.g. `delay:<step>:<ms>`).
 */
export async function stoppedAt(
  step: string,
  args: string[],
  root: string,
  moreFaults: string[] = [],
): Promise<{ child: Deno.ChildProcess; output: Promise<Deno.CommandOutput> }> {
  const faults = [`stop:${step}`, ...moreFaults].join(",");
  const child = spawnNx(args, root, { NX_FAULT: faults }, "piped");
  const output = child.output();
  for (;;) {
    const state = processState(child.pid);
    if (state === "T") return { child, output };
    if (state === "Z") {
      const out = await output;
      throw new Error(`nx exited before ${step}: ${new TextDecoder().decode(out.stdout)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs `nx pkg pack <src> --key fixtures/keys/dev.key --out <out> --json`. */
export function packWithDevKey(src: string, out: string): Promise<NxRun> {
  return nx([
    "pkg",
    "pack",
    src,
    "--key",
    join(FIXTURES, "keys", "dev.key"),
    "--out",
    out,
    "--json",
  ]);
}

/** notes 1.1.0 whose 1.0.0 → 1.1.0 migration script is `body`, packed and signed by dev. */
export async function notesWithMigration(body: string): Promise<string> {
  const work = await tempDir();
  const src = join(work, "src");
  await cp(join(FIXTURES, "src", "notes-1.1.0"), src, { recursive: true });
  await Deno.writeTextFile(join(src, "migrations/1.0.0_to_1.1.0.ts"), body);
  const out = join(work, "notes.nxb");
  const r = await packWithDevKey(src, out);
  if (r.json?.code !== "ok") throw new Error(`pack failed: ${r.stdout}${r.stderr}`);
  return out;
}
