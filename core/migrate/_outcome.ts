/** How a step's end becomes an error: timeout, resource limit, other failure; the quota check. */
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { treeSize } from "../store/mod.ts";
import type { ChildResult } from "./_child.ts";
import type { CheckedLimits, MigrationQuota } from "./sandbox.ts";

/** Bytes of stderr an error carries. */
export const STDERR_TAIL_BYTES = 2 * 1024;

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const tail = (bytes: Uint8Array, n: number) =>
  decode(bytes.subarray(Math.max(0, bytes.length - n)));
const label = (step: MigrationStep) => `${step.from} → ${step.to}`;

/**
 * Which resource limit stopped a failed step, when that can be told: SIGXFSZ (or EFBIG, should
 * the script ignore the signal) is the file size limit; V8's and Rust's allocation failures are
 * the memory limits (RLIMIT_DATA/RLIMIT_AS, or the V8 heap). A script can print these lines
 * itself: that only changes the code of a step that failed anyway.
 */
export function limitHit(
  result: Pick<ChildResult, "signal" | "stderr">,
): "file-size" | "memory" | undefined {
  if (result.signal === "SIGXFSZ") return "file-size";
  const stderr = decode(result.stderr);
  if (/File too large|os error 27\b/.test(stderr)) return "file-size";
  if (
    /Array buffer allocation failed|out of memory|memory allocation of \d+ bytes failed|Cannot allocate memory/
      .test(stderr)
  ) {
    return "memory";
  }
  return undefined;
}

function resourceLimit(
  step: MigrationStep,
  limit: "file-size" | "memory",
  result: ChildResult,
  limits: CheckedLimits,
): NxError {
  const what = limit === "file-size" ? "a file past its size limit" : "memory past its limit";
  return new NxError(
    "migration.resource_limit",
    `cannot migrate ${label(step)}: the script wrote or allocated ${what} and was stopped`,
    {
      details: {
        step,
        limit,
        ...(limit === "file-size" ? { maxFileMb: limits.maxFileMb } : {
          maxDataMb: limits.maxDataMb,
          maxAddressSpaceMb: limits.maxAddressSpaceMb,
          maxOldSpaceMb: limits.maxOldSpaceMb,
        }),
        exitCode: result.code,
        signal: result.signal,
        stderrTail: tail(result.stderr, STDERR_TAIL_BYTES),
      },
    },
  );
}

export function stepFailure(
  step: MigrationStep,
  result: ChildResult,
  limits: CheckedLimits,
): NxError {
  if (result.timedOut) {
    return new NxError(
      "migration.timeout",
      `cannot migrate ${
        label(step)
      }: the script ran past ${limits.stepTimeoutMs} ms and was killed`,
      {
        details: {
          step,
          timeoutMs: limits.stepTimeoutMs,
          signal: result.signal,
          stderrTail: tail(result.stderr, STDERR_TAIL_BYTES),
        },
      },
    );
  }
  const limit = limitHit(result);
  if (limit) return resourceLimit(step, limit, result, limits);
  const stderrTail = tail(result.stderr, STDERR_TAIL_BYTES);
  const how = result.signal === null
    ? `exited with code ${result.code}`
    : `was killed by ${result.signal}`;
  return new NxError("migration.failed", `cannot migrate ${label(step)}: the script ${how}`, {
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

export async function checkQuota(
  quota: MigrationQuota,
  before: number,
  data: string,
  last: MigrationStep,
): Promise<void> {
  const after = await treeSize(data);
  const bytes = quota.fixedBytes + before + after;
  if (bytes > quota.limitBytes) {
    throw new NxError(
      "migration.quota",
      `cannot migrate ${
        label(last)
      }: the app would hold ${bytes} bytes, over its quota of ${quota.limitBytes}`,
      { details: { bytes, quota: quota.limitBytes, dataBefore: before, dataAfter: after } },
    );
  }
}
