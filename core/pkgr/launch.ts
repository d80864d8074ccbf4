/**
 * `launch`: runs the active version of an installed app. The payload is copied out of the root
 * into a private directory while its SHA-256 is checked against the registry's record
 * (launch_copy.ts), checked to be an x86-64 ELF program (launch_elf.ts), and the copy is run
 * confined (launch_exec.ts) with the version's data directory as its working directory and
 * home, a cleared environment and the caller's arguments. The copy is removed afterwards,
 * whatever happened. The caller decides beforehand whether the app may run (entitlement gate,
 * app state); this module only runs it.
 */
import { ELF_PAYLOAD_FILE } from "../bundle/mod.ts";
import type { AppRecord, Reporter } from "../api/mod.ts";
import { throwIfCancelled } from "../api/failure.ts";
import { NxError } from "../errors.ts";
import {
  DEFAULT_MAX_ADDRESS_SPACE_MB,
  DEFAULT_MAX_DATA_MB,
  DEFAULT_MAX_FILE_MB,
} from "../migrate/mod.ts";
import { appPaths, isErrno, openDirAt, type RootPaths } from "../store/mod.ts";
import { marker } from "./context.ts";
import { copyVerifiedPayload } from "./launch_copy.ts";
import { defaultScratchDirs, makeLaunchDir } from "./launch_dir.ts";
import { checkElfHeader, checkHost, type Host } from "./launch_elf.ts";
import { confinedArgv, type LaunchLimits, runConfined, type RunResult } from "./launch_exec.ts";

export type { LaunchLimits } from "./launch_exec.ts";

/** Output kept per stream in capture mode. */
export const LAUNCH_CAPTURE_BYTES = 64 * 1024;
/** Time between the SIGTERM of a cancel and the SIGKILL. */
export const LAUNCH_GRACE_MS = 2000;

const MIB = 1024 * 1024;
/** The migrations' memory and file limits (core/migrate), and a usual descriptor limit. */
export const DEFAULT_LAUNCH_LIMITS: LaunchLimits = {
  addressSpace: DEFAULT_MAX_ADDRESS_SPACE_MB * MIB,
  data: DEFAULT_MAX_DATA_MB * MIB,
  fileSize: DEFAULT_MAX_FILE_MB * MIB,
  openFiles: 1024,
};

export interface LaunchOptions {
  paths: RootPaths;
  /** The registry's record of the app: its active version and that version's file digests. */
  record: AppRecord;
  /** argv[1…] of the program. */
  args: readonly string[];
  /** inherit: the program shares nx's stdin, stdout and stderr; capture: see LaunchResult. */
  stdio: "inherit" | "capture";
  /** Aborting it stops the program: SIGTERM to its group, SIGKILL `graceMs` later. */
  signal?: AbortSignal;
  /** Where `pkgr: launch app=<id> v=<ver>` goes, just before the program starts. */
  reporter?: Reporter;
  /** Parent directories for the private copy, tried in order (default: the OS temp directory, then $XDG_RUNTIME_DIR). */
  scratchDirs?: readonly string[];
  /** Default {@link LAUNCH_GRACE_MS}. */
  graceMs?: number;
  /** Default {@link DEFAULT_LAUNCH_LIMITS}. */
  limits?: LaunchLimits;
  /** Default the running process's (Deno.build). */
  host?: Host;
}

export interface LaunchResult {
  /** Always 0: any other exit is `launch.failed`. */
  exitCode: number;
  /** Capture mode: the first {@link LAUNCH_CAPTURE_BYTES} of the program's output, as UTF-8. */
  stdout?: string;
  stderr?: string;
  /** Capture mode: the program wrote more than was kept. */
  stdoutTruncated?: boolean;
  stderrTruncated?: boolean;
  durationMs: number;
}

function activeVersion(record: AppRecord) {
  const active = record.versions.find((v) => v.version === record.version);
  if (active === undefined) {
    throw new NxError(
      "registry.corrupt",
      `cannot launch ${record.id}: the registry lists no files for its active version ${record.version}`,
      { details: { app: record.id, version: record.version } },
    );
  }
  return active;
}

/** The data directory of the active version, which install made; a launch never creates it. */
function dataDirOf(paths: RootPaths, record: AppRecord): string {
  const dir = appPaths(paths, record.id).dataOf(record.version);
  try {
    openDirAt(dir).close(); // no link at any depth: `root.unsafe_entry`
  } catch (e) {
    if (e instanceof NxError) throw e;
    if (isErrno(e, "ENOENT")) {
      throw new NxError(
        "root.invalid",
        `cannot launch ${record.id}: the data directory of ${record.version} is missing`,
        {
          details: { app: record.id, version: record.version, path: dir },
          hint:
            `run \`nx pkg doctor\`; \`nx pkg clear-data ${record.id}\` recreates it empty (its data is gone)`,
        },
      );
    }
    throw new NxError("io.failed", `cannot launch ${record.id}: cannot open ${dir}`, {
      details: { path: dir },
      cause: e,
    });
  }
  return dir;
}

function failed(record: AppRecord, run: RunResult): NxError {
  const how = run.signal !== null ? `was killed by ${run.signal}` : `exited with ${run.code}`;
  return new NxError(
    run.cancelled ? "op.cancelled" : "launch.failed",
    `cannot launch ${record.id}: it ${run.cancelled ? "was cancelled and " : ""}${how}`,
    {
      details: {
        app: record.id,
        version: record.version,
        exitCode: run.code,
        signal: run.signal,
        ...(run.stdout ? { stdout: run.stdout.text, stderr: run.stderr?.text } : {}),
      },
    },
  );
}

/**
 * Runs the app's active payload and waits for it. Refusals: `launch.unsupported` (not an ELF
 * payload kind, no payload.elf, not an x86-64 ELF executable, not an x86-64 Linux host, no
 * exec-capable temp directory), `integrity.file_digest_mismatch` / `integrity.file_missing`
 * (the root's payload is not the installed one: nothing runs), `root.invalid` (the data
 * directory is missing), `root.unsafe_entry` (a link on the way). A non-zero exit or a death by
 * signal is `launch.failed` with `{app, version, exitCode, signal}`; a cancel is `op.cancelled`
 * with the same details.
 */
export async function launchApp(opts: LaunchOptions): Promise<LaunchResult> {
  const { record } = opts;
  throwIfCancelled(opts.signal);
  checkHost(record.id, opts.host ?? Deno.build);
  const active = activeVersion(record);
  const payload = active.files.find((f) => f.path === ELF_PAYLOAD_FILE);
  const kind = active.manifest.payloadKind;
  if (kind !== "elf" || payload === undefined) {
    throw new NxError(
      "launch.unsupported",
      kind !== "elf"
        ? `cannot launch ${record.id}: its payload is a ${kind}, not an ELF program`
        : `cannot launch ${record.id}: its files hold no ${ELF_PAYLOAD_FILE}`,
      {
        details: { app: record.id, version: record.version, payloadKind: kind },
        ...(kind !== "elf"
          ? { hint: "a ui program runs in the Nexus shell, not through `nx pkg launch`" }
          : {}),
      },
    );
  }
  const cwd = dataDirOf(opts.paths, record);
  const dir = await makeLaunchDir(record.id, opts.scratchDirs ?? defaultScratchDirs());
  try {
    const header = copyVerifiedPayload(
      {
        app: record.id,
        version: record.version,
        versionDir: appPaths(opts.paths, record.id).version(record.version),
        size: payload.size,
        sha256: payload.sha256,
      },
      dir,
      record.id,
    );
    checkElfHeader(record.id, header);
    throwIfCancelled(opts.signal);
    const argv = await confinedArgv(
      `${dir}/${record.id}`,
      opts.args,
      opts.limits ?? DEFAULT_LAUNCH_LIMITS,
    );
    if (opts.reporter) {
      marker({ reporter: opts.reporter }, `pkgr: launch app=${record.id} v=${record.version}`);
    }
    const run = await runConfined(argv, {
      cwd,
      env: {
        PATH: "/usr/bin:/bin",
        HOME: cwd,
        LANG: "C.UTF-8",
        NX_APP_ID: record.id,
        NX_APP_VERSION: record.version,
      },
      stdio: opts.stdio,
      capBytes: LAUNCH_CAPTURE_BYTES,
      limits: opts.limits ?? DEFAULT_LAUNCH_LIMITS,
      graceMs: opts.graceMs ?? LAUNCH_GRACE_MS,
      signal: opts.signal,
    });
    if (run.cancelled || run.code !== 0) throw failed(record, run);
    return {
      exitCode: 0,
      ...(run.stdout && run.stderr
        ? {
          stdout: run.stdout.text,
          stderr: run.stderr.text,
          stdoutTruncated: run.stdout.truncated,
          stderrTruncated: run.stderr.truncated,
        }
        : {}),
      durationMs: run.durationMs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
