/**
 * One operation on many targets: at most `parallel` at once, every target run to its end whatever
 * the others do, outcomes in the order the targets were given (never completion order, so output
 * is deterministic), and one exit code for the whole run.
 */
import { EXIT_CLASSES, NxError } from "../errors.ts";
import { toNxError } from "../api/failure.ts";

export type FleetOutcome<Tg, T> =
  | { target: Tg; ok: true; result: T }
  | { target: Tg; ok: false; error: NxError };

/** Runs `run` on every target with bounded concurrency; never rejects because a target failed. */
export async function runFleet<Tg, T>(
  targets: readonly Tg[],
  parallel: number,
  run: (target: Tg) => Promise<T>,
): Promise<FleetOutcome<Tg, T>[]> {
  if (!Number.isInteger(parallel) || parallel < 1) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot run a fleet: parallel ${parallel} is not a positive integer`,
      {
        hint: "pass --parallel N with N ≥ 1",
      },
    );
  }
  const outcomes = new Array<FleetOutcome<Tg, T>>(targets.length);
  let next = 0;
  const worker = async () => {
    // each worker takes the next unclaimed index; JS runs this synchronously, so no index twice
    for (let i = next++; i < targets.length; i = next++) {
      const target = targets[i];
      try {
        outcomes[i] = { target, ok: true, result: await run(target) };
      } catch (e) {
        outcomes[i] = { target, ok: false, error: toNxError(e) };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, targets.length) }, worker));
  return outcomes;
}

export type ExitCode = (typeof EXIT_CLASSES)[keyof typeof EXIT_CLASSES];

/**
 * The exit code of a fleet run: the worst target's. "Worst" is the highest exit class number
 * (usage 2 < validation_reject 3 < missing_dependency 4 < delegate_failure 5 < unsupported 6 <
 * internal 7): any failure outranks success (0), and an empty fleet is a success. The ranking is
 * the order of EXIT_CLASSES, which runs roughly from "the caller asked wrongly" to "nx broke".
 */
export function worstExit(codes: readonly ExitCode[]): ExitCode {
  return codes.reduce<ExitCode>(
    (worst, code) => (code > worst ? code : worst),
    EXIT_CLASSES.success,
  );
}

/** The exit code of a fleet's outcomes: each failure counts with its error's exit class. */
export function fleetExit(outcomes: readonly FleetOutcome<unknown, unknown>[]): ExitCode {
  return worstExit(
    outcomes.map((o) => (o.ok ? EXIT_CLASSES.success : EXIT_CLASSES[o.error.exitClass])),
  );
}
