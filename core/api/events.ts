/**
 * What an operation reports while it runs: marker lines, warnings and progress, as plain values.
 * Core never prints: it hands events to the caller's {@link Reporter}. The CLI's reporter writes
 * them to stderr (cli/output.ts); an agent sends each one to its caller as it happens, and the
 * caller hands it to its own reporter, so a remote operation reports exactly as a local one.
 * Types and the silent reporter only; the schema is EventSchema in result_schemas.ts.
 */

export type ProgressEvent =
  /** A fixed line a test harness matches (docs/cli.md#marker-lines); shown with `--markers`. */
  | { kind: "marker"; text: string }
  /** Something the caller should know that did not fail the operation. */
  | { kind: "warning"; code: string; message: string }
  /** `done` of `total` units of `phase` (drawn only on a terminal). */
  | { kind: "progress"; phase: string; done: number; total: number };

export interface Reporter {
  emit(event: ProgressEvent): void;
}

/** Drops every event (tests, fixture generation, the quiet half of `inspect`). */
export const silentReporter: Reporter = { emit() {} };
