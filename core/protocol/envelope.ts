/** The `--json` envelope: exactly one per command, on stdout (docs/cli.md, docs/schemas/). */
import * as z from "zod";
import { ERROR_CODES, EXIT_CLASSES } from "../errors.ts";

export const EXIT_CLASS_NAMES = Object.keys(EXIT_CLASSES) as (keyof typeof EXIT_CLASSES)[];

export const EnvelopeSchema = z.object({
  /** true exactly when class is "success". */
  ok: z.boolean(),
  class: z.enum(EXIT_CLASS_NAMES),
  /** "ok" on success, else a stable code from docs/errors.md. */
  code: z.enum(["ok", ...ERROR_CODES]),
  message: z.string(),
  /** Command-specific result; on failure `{hint?, details?}`. */
  data: z.unknown().optional(),
}).strict();
export type Envelope = z.infer<typeof EnvelopeSchema>;
