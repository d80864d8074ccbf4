/**
 * Runs a migration chain on a staging copy of an app's data, each step in its own `deno run`
 * process that may read and write that directory and nothing else. See docs for what the
 * sandbox does and does not bound.
 */
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { runChild } from "./_child.ts";
import {
  checkDataDirGrant,
  checkDataTree,
  checkModuleGraph,
  checkScript,
  realDirectory,
} from "./_guard.ts";

export interface MigrationLimits {
  /** Wall-clock limit of one step; at the limit the step gets SIGTERM. */
  stepTimeoutMs: number;
  /** Time between SIGTERM and SIGKILL (default 250). */
  graceMs?: number;
  /** V8 old-space heap limit of a step (default 128). */
  maxOldSpaceMb?: number;
  /**
   * The `deno` binary that runs the steps (default `Deno.execPath()`). A `deno compile`d nx
   * has no `deno run` of its own and must name one.
   */
  denoPath?: string;
}

export interface MigrationEvent {
  step: MigrationStep;
  /** 0-based position in the chain. */
  index: number;
  total: number;
  durationMs: number;
  /** The step's output, at most {@link OUTPUT_CAP_BYTES} each (the last bytes). */
  stdout: string;
  stderr: string;
}

export const DEFAULT_GRACE_MS = 250;
export const DEFAULT_MAX_OLD_SPACE_MB = 128;
/** Output kept per stream and step. */
export const OUTPUT_CAP_BYTES = 64 * 1024;
/** Bytes of stderr an error carries. */
export const STDERR_TAIL_BYTES = 2 * 1024;

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const tail = (bytes: Uint8Array, n: number) =>
  decode(bytes.subarray(Math.max(0, bytes.length - n)));
const label = (step: MigrationStep) => `${step.from} → ${step.to}`;

/** Deno's own flags for a run that may touch nothing but `dataDir`. */
export function stepArgs(script: string, dataDir: string, maxOldSpaceMb: number): string[] {
  return [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--cached-only",
    `--allow-read=${dataDir}`,
    `--allow-write=${dataDir}`,
    `--v8-flags=--max-old-space-size=${maxOldSpaceMb}`,
    script,
    dataDir,
  ];
}

function checkLimits(limits: MigrationLimits): Required<Omit<MigrationLimits, "denoPath">> {
  const graceMs = limits.graceMs ?? DEFAULT_GRACE_MS;
  const maxOldSpaceMb = limits.maxOldSpaceMb ?? DEFAULT_MAX_OLD_SPACE_MB;
  const ok = (n: number, min: number) => Number.isSafeInteger(n) && n >= min;
  if (!ok(limits.stepTimeoutMs, 1) || !ok(graceMs, 0) || !ok(maxOldSpaceMb, 8)) {
    throw new NxError(
      "usage.invalid_argument",
      "cannot migrate: step timeout, grace and heap limit must be whole numbers (heap ≥ 8 MB)",
      { details: { limits } },
    );
  }
  return { stepTimeoutMs: limits.stepTimeoutMs, graceMs, maxOldSpaceMb };
}

function denoBinary(limits: MigrationLimits): string {
  if (limits.denoPath !== undefined) return limits.denoPath;
  if (Deno.build.standalone) {
    throw new NxError("tool.missing", "cannot migrate: this nx binary has no `deno run`", {
      hint: "install deno and pass its path as the migration runner",
    });
  }
  return Deno.execPath();
}

/**
 * Runs each step as its own `deno run` process (see {@link stepArgs}) with cwd = dataDir, a
 * cleared environment plus DENO_DIR (a private temp directory removed afterwards), NO_COLOR,
 * DENO_NO_UPDATE_CHECK, DENO_NO_PACKAGE_JSON and DENO_NO_PROMPT, stdin null and output
 * captured. Before any step runs, every script must be a plain file of the bundle that imports
 * nothing but `node:` built-ins and plain files of the bundle; before each step, the data tree
 * must hold only directories and singly-linked regular files (`migration.escape`). A step past
 * its time limit gets SIGTERM, then SIGKILL after graceMs (`migration.timeout`); a non-zero exit
 * or death by signal is `migration.failed`. The first failure stops the chain.
 */
export async function runMigrations(
  chain: MigrationStep[],
  bundleDir: string,
  dataDir: string,
  limits: MigrationLimits,
  onStep?: (e: MigrationEvent) => void,
): Promise<void> {
  const { stepTimeoutMs, graceMs, maxOldSpaceMb } = checkLimits(limits);
  if (chain.length === 0) return;
  const deno = denoBinary(limits);
  const bundle = await realDirectory(bundleDir, "bundle directory");
  const data = await realDirectory(dataDir, "data directory");
  const scripts: string[] = [];
  for (const step of chain) scripts.push(await checkScript(bundle, step));

  const denoDir = await Deno.realPath(await Deno.makeTempDir({ prefix: "nx-migrate-deno-" }));
  try {
    checkDataDirGrant(data, bundle, denoDir);
    const env = {
      DENO_DIR: denoDir,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PACKAGE_JSON: "1",
      DENO_NO_PROMPT: "1",
    };
    const child = { cwd: data, env, graceMs, capBytes: OUTPUT_CAP_BYTES };

    // Every graph is checked before the first step runs, so a refused chain changes nothing.
    for (const [i, step] of chain.entries()) {
      const info = await runChild(
        deno,
        ["info", "--json", "--no-config", "--no-lock", "--no-remote", "--no-npm", scripts[i]],
        { ...child, timeoutMs: stepTimeoutMs },
      );
      if (info.code !== 0) {
        throw new NxError(
          "migration.failed",
          `cannot migrate ${label(step)}: cannot load the script`,
          {
            details: {
              step,
              exitCode: info.code,
              signal: info.signal,
              stderrTail: tail(info.stderr, STDERR_TAIL_BYTES),
            },
          },
        );
      }
      await checkModuleGraph(decode(info.stdout), bundle, step);
    }

    for (const [index, step] of chain.entries()) {
      await checkScript(bundle, step);
      await checkDataTree(data, step);
      const result = await runChild(deno, stepArgs(scripts[index], data, maxOldSpaceMb), {
        ...child,
        timeoutMs: stepTimeoutMs,
      });
      if (result.timedOut) {
        throw new NxError(
          "migration.timeout",
          `cannot migrate ${label(step)}: the script ran past ${stepTimeoutMs} ms and was killed`,
          {
            details: {
              step,
              timeoutMs: stepTimeoutMs,
              signal: result.signal,
              stderrTail: tail(result.stderr, STDERR_TAIL_BYTES),
            },
          },
        );
      }
      if (result.code !== 0) {
        const stderrTail = tail(result.stderr, STDERR_TAIL_BYTES);
        const how = result.signal === null
          ? `exited with code ${result.code}`
          : `was killed by ${result.signal}`;
        throw new NxError("migration.failed", `cannot migrate ${label(step)}: the script ${how}`, {
          details: {
            step,
            exitCode: result.code,
            signal: result.signal,
            // Deno 2 reports a refused permission as `NotCapable: Requires … access`.
            permissionDenied: /\bNotCapable\b|Requires \w+ access/.test(stderrTail),
            stderrTail,
          },
        });
      }
      onStep?.({
        step,
        index,
        total: chain.length,
        durationMs: Math.round(result.durationMs),
        stdout: decode(result.stdout),
        stderr: decode(result.stderr),
      });
    }
  } finally {
    await Deno.remove(denoDir, { recursive: true }).catch(() => {});
  }
}
