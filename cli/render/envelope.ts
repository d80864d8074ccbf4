/**
 * Errors and results become output here and nowhere else. An envelope's `message` carries a quoted
 * name exactly (so a hostile name's line break is in the string, which JSON escapes: the envelope
 * stays one line); the terminal gets it escaped (cli/output.ts).
 */
import { EXIT_CLASSES, type ExitClass } from "../../core/errors.ts";
import { toNxError } from "../../core/api/failure.ts";
import type { Envelope } from "../../core/protocol/mod.ts";
import type { Output } from "../output.ts";

/**
 * What a verb hands back: a one-line summary, the `--json` data, and its human rendering. A root
 * command builds it from the method's result value alone (cli/root_command.ts).
 */
export interface CommandResult {
  message: string;
  data: unknown;
  human: string;
}

export function renderSuccess(out: Output, result: CommandResult): number {
  if (out.options.json) {
    const envelope: Envelope = {
      ok: true,
      class: "success",
      code: "ok",
      message: result.message,
      data: result.data,
    };
    out.json(envelope);
  } else if (result.human.length > 0) {
    out.stdout(result.human);
  }
  return EXIT_CLASSES.success;
}

export function renderError(out: Output, error: unknown): number {
  const e = toNxError(error);
  const exitClass: ExitClass = e.exitClass;
  if (out.options.json) {
    const data = {
      ...(e.hint ? { hint: e.hint } : {}),
      ...(e.details ? { details: e.details } : {}),
    };
    const envelope: Envelope = {
      ok: false,
      class: exitClass,
      code: e.code,
      message: e.message,
      ...(Object.keys(data).length > 0 ? { data } : {}),
    };
    out.json(envelope);
  } else {
    out.record("error", `${e.message} [${e.code}]`);
    if (e.hint) out.record("hint", e.hint);
  }
  if (e.code === "internal.unexpected" && Deno.env.get("NX_DEBUG") === "1") {
    out.stderr(String((e.cause as Error | undefined)?.stack ?? e.stack));
  }
  return EXIT_CLASSES[exitClass];
}
