/**
 * A failed call as a value: the stable code, the one-line message, the hint and the details of
 * an {@link NxError}. An agent sends this; its caller turns it back into the same NxError, which
 * the CLI renders in its one place (cli/render/envelope.ts), so a remote failure prints exactly as
 * a local one. Kept free of schemas (its schema is ErrorValueSchema in result_schemas.ts): the CLI
 * loads this module at start-up.
 */
import { type ErrorCode, NxError } from "../errors.ts";

export interface ErrorValue {
  code: ErrorCode;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
}

/** Any thrown value as an NxError: anything else is `internal.unexpected`. */
export function toNxError(e: unknown): NxError {
  if (e instanceof NxError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new NxError("internal.unexpected", `cannot continue: ${message}`, { cause: e });
}

export function errorValue(e: unknown): ErrorValue {
  const error = toNxError(e);
  return {
    code: error.code,
    message: error.message,
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
    ...(error.details !== undefined ? { details: error.details } : {}),
  };
}

export function errorFromValue(value: ErrorValue): NxError {
  return new NxError(value.code, value.message, { hint: value.hint, details: value.details });
}

/** The error a cancelled call ends with (see CallContext.signal). */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new NxError("op.cancelled", "cannot continue: the caller cancelled the operation");
  }
}
