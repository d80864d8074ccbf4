/**
 * The native install floor (floor.c): compiled once per bench run with the system `cc -O2` into
 * the run's shared scratch directory. With OpenSSL's headers it links libcrypto's SHA-256 (what a
 * native tool would use); otherwise it builds with floor.c's portable SHA-256. Without `cc` there
 * is no floor: the rows that need it are reported as not measured, never estimated.
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { canRun, type Cmd, runProcess } from "./_measure.ts";

const SOURCE = fileURLToPath(new URL("floor.c", import.meta.url));

export interface Floor {
  exe: string;
  /** Where its SHA-256 comes from: "openssl" (libcrypto) or "portable" (floor.c). */
  sha: string;
  /** The build command that succeeded, for the report. */
  build: string;
}

export type FloorBuild = { ok: true; floor: Floor } | { ok: false; reason: string };

const builds = new Map<string, Promise<FloorBuild>>();

/** Builds the floor into `<shared>/floor/` once per shared directory (once per bench run). */
export function nativeFloor(shared: string): Promise<FloorBuild> {
  let build = builds.get(shared);
  if (!build) {
    build = buildFloor(join(shared, "floor"));
    builds.set(shared, build);
  }
  return build;
}

async function buildFloor(dir: string): Promise<FloorBuild> {
  if (!await canRun("cc", ["--version"])) {
    return { ok: false, reason: "no C compiler (`cc`) on PATH to build floor.c" };
  }
  await Deno.mkdir(dir, { recursive: true });
  const exe = join(dir, "floor");
  const attempts = [
    ["-O2", "-DFLOOR_OPENSSL", "-o", exe, SOURCE, "-lcrypto", "-lpthread"],
    ["-O2", "-o", exe, SOURCE, "-lpthread"],
  ];
  const failures: string[] = [];
  for (const args of attempts) {
    const out = await new Deno.Command("cc", { args, stdout: "piped", stderr: "piped" }).output();
    if (out.success) {
      const sha = (await runProcess({ cmd: exe, args: ["--sha-impl"] })).stdout.trim();
      return { ok: true, floor: { exe, sha, build: ["cc", ...args].join(" ") } };
    }
    failures.push(new TextDecoder().decode(out.stderr).trim().split("\n")[0]);
  }
  return { ok: false, reason: `cc cannot build floor.c: ${failures.join("; ")}` };
}

/**
 * How the floor makes its files durable: fdatasync from `threads` threads per batch of `batch`
 * files (0: one batch), then fsync every directory; `threads` 0: one syncfs(2) instead.
 */
export interface SyncStrategy {
  threads: number;
  batch: number;
}

/** What core/store/fs.ts Durable does on Linux >= 5.8: write everything, then one syncfs. */
export const SYNCFS: SyncStrategy = { threads: 0, batch: 0 };
/** Write everything, then fdatasync all files from 16 threads (what Durable did before syncfs). */
export const POOL: SyncStrategy = { threads: 16, batch: 0 };

/** `floor <src> <stage> <final> <threads> <batch> <files…>`: see floor.c. */
export function floorCmd(
  floor: Floor,
  src: string,
  into: string,
  files: string[],
  how: SyncStrategy,
): Cmd {
  return {
    cmd: floor.exe,
    args: [
      src,
      join(into, "staging"),
      join(into, "installed"),
      String(how.threads),
      String(how.batch),
      ...files,
    ],
  };
}

export function strategyText(how: SyncStrategy): string {
  if (how.threads === 0) return "one syncfs once every file is written";
  const batches = how.batch === 0 ? "all files in one batch" : `batches of ${how.batch}`;
  return `fdatasync from ${how.threads} thread${how.threads === 1 ? "" : "s"}, ${batches}`;
}
