/**
 * Runs a migration chain on a staging copy of an app's data, each step in its own confined
 * `deno run` process that may read and write that directory and nothing else. See docs for what
 * the sandbox does and does not bound.
 */
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { treeSize } from "../store/mod.ts";
import { runChild } from "./_child.ts";
import { confineTools } from "./_confine.ts";
import { checkQuota, STDERR_TAIL_BYTES, stepFailure } from "./_outcome.ts";
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
   * RLIMIT_AS of a step, MiB (default 65536). V8 reserves address space it never uses: a
   * trivial `deno run` peaks at 48.3 GiB of virtual memory (the Oilpan heap cage), and with a
   * limit of 40 GiB or less it often cannot start, so this is only a backstop.
   */
  maxAddressSpaceMb?: number;
  /**
   * RLIMIT_DATA of a step, MiB (default 1024): private writable memory, which is what the V8
   * heap, ArrayBuffers and malloc use. A trivial `deno run` maps ~540 MiB of it (and starts
   * under 560 MiB); the default leaves a step ~480 MiB of ArrayBuffers.
   */
  maxDataMb?: number;
  /** RLIMIT_FSIZE of a step, MiB (default 1024): no file it writes may grow past this. */
  maxFileMb?: number;
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

/** A quota the migrated data must fit: `fixedBytes` + data before + data after ≤ limitBytes. */
export interface MigrationQuota {
  limitBytes: number;
  /** The app's bytes beside its data (retained versions, the new bundle). */
  fixedBytes: number;
}

export interface MigrationRunOptions {
  /** Where each running step's process is recorded for crash recovery (absent: not recorded). */
  recordPath?: string;
  /** Checked after the chain ran (`migration.quota`). */
  quota?: MigrationQuota;
  /** Where the steps' private DENO_DIR is made (default: the OS temp directory). */
  scratchDir?: string;
  onStep?: (e: MigrationEvent) => void;
}

export const DEFAULT_GRACE_MS = 250;
export const DEFAULT_MAX_OLD_SPACE_MB = 128;
export const DEFAULT_MAX_ADDRESS_SPACE_MB = 64 * 1024;
export const DEFAULT_MAX_DATA_MB = 1024;
export const DEFAULT_MAX_FILE_MB = 1024;
/** Output kept per stream and step. */
export const OUTPUT_CAP_BYTES = 64 * 1024;
export { limitHit, STDERR_TAIL_BYTES } from "./_outcome.ts";

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

export type CheckedLimits = Required<Omit<MigrationLimits, "denoPath">>;

function checkLimits(limits: MigrationLimits): CheckedLimits {
  const checked = {
    stepTimeoutMs: limits.stepTimeoutMs,
    graceMs: limits.graceMs ?? DEFAULT_GRACE_MS,
    maxOldSpaceMb: limits.maxOldSpaceMb ?? DEFAULT_MAX_OLD_SPACE_MB,
    maxAddressSpaceMb: limits.maxAddressSpaceMb ?? DEFAULT_MAX_ADDRESS_SPACE_MB,
    maxDataMb: limits.maxDataMb ?? DEFAULT_MAX_DATA_MB,
    maxFileMb: limits.maxFileMb ?? DEFAULT_MAX_FILE_MB,
  };
  const ok = (n: number, min: number) => Number.isSafeInteger(n) && n >= min;
  if (
    !ok(checked.stepTimeoutMs, 1) || !ok(checked.graceMs, 0) || !ok(checked.maxOldSpaceMb, 8) ||
    !ok(checked.maxAddressSpaceMb, 1) || !ok(checked.maxDataMb, 1) || !ok(checked.maxFileMb, 1)
  ) {
    throw new NxError(
      "usage.invalid_argument",
      "cannot migrate: step timeout, grace and memory and file limits must be whole numbers (heap ≥ 8 MB)",
      { details: { limits } },
    );
  }
  return checked;
}

const MIB = 1024 * 1024;

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
 * DENO_NO_UPDATE_CHECK, DENO_NO_PACKAGE_JSON and DENO_NO_PROMPT, stdin at EOF and output
 * captured; each
 * process is confined (_confine.ts: its own session, SIGKILL when nx dies, RLIMIT_AS, _DATA,
 * _FSIZE, no core dumps) and, with `recordPath`, recorded durably before it may start.
 * Before any step runs, every script must be a plain file of the bundle that imports nothing but
 * `node:` built-ins and plain files of the bundle; before each step, the data tree must hold only
 * directories and singly-linked regular files (`migration.escape`). A step past its time limit
 * gets SIGTERM, then SIGKILL after graceMs (`migration.timeout`); one stopped by a memory or file
 * size limit is `migration.resource_limit`; any other non-zero exit or death by signal is
 * `migration.failed`. The first failure stops the chain. With `quota`, the data must fit it
 * after the chain (`migration.quota`).
 */
export async function runMigrations(
  chain: MigrationStep[],
  bundleDir: string,
  dataDir: string,
  limits: MigrationLimits,
  options: MigrationRunOptions = {},
): Promise<void> {
  const checked = checkLimits(limits);
  if (chain.length === 0) return;
  const deno = denoBinary(limits);
  const tools = await confineTools();
  const bundle = await realDirectory(bundleDir, "bundle directory");
  const data = await realDirectory(dataDir, "data directory");
  const scripts: string[] = [];
  for (const step of chain) scripts.push(await checkScript(bundle, step));

  const denoDir = await Deno.realPath(
    await Deno.makeTempDir({ prefix: "nx-migrate-deno-", dir: options.scratchDir }),
  );
  try {
    checkDataDirGrant(data, bundle, denoDir);
    const env = {
      DENO_DIR: denoDir,
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      DENO_NO_PACKAGE_JSON: "1",
      DENO_NO_PROMPT: "1",
    };
    const child = {
      cwd: data,
      env,
      graceMs: checked.graceMs,
      timeoutMs: checked.stepTimeoutMs,
      capBytes: OUTPUT_CAP_BYTES,
      tools,
      rlimits: {
        addressSpace: checked.maxAddressSpaceMb * MIB,
        data: checked.maxDataMb * MIB,
        fileSize: checked.maxFileMb * MIB,
      },
      recordPath: options.recordPath,
    };

    // Every graph is checked before the first step runs, so a refused chain changes nothing.
    for (const [i, step] of chain.entries()) {
      const info = await runChild(
        deno,
        ["info", "--json", "--no-config", "--no-lock", "--no-remote", "--no-npm", scripts[i]],
        // The record knows a process by a path of this transaction on its command line.
        { ...child, tag: scripts[i] },
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

    const before = options.quota ? await treeSize(data) : 0;
    for (const [index, step] of chain.entries()) {
      await checkScript(bundle, step);
      await checkDataTree(data, step);
      const args = stepArgs(scripts[index], data, checked.maxOldSpaceMb);
      const result = await runChild(deno, args, { ...child, tag: data });
      if (result.timedOut || result.code !== 0) throw stepFailure(step, result, checked);
      options.onStep?.({
        step,
        index,
        total: chain.length,
        durationMs: Math.round(result.durationMs),
        stdout: decode(result.stdout),
        stderr: decode(result.stderr),
      });
    }
    if (options.quota) await checkQuota(options.quota, before, data, chain.at(-1)!);
  } finally {
    await Deno.remove(denoDir, { recursive: true }).catch(() => {});
  }
}
