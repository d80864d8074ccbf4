/**
 * zod/mini, the functional entry of zod, for the schemas that verify, install and pack parse
 * with (core/bundle, core/trust, core/store, core/entitlement, core/licensed): one core, one set
 * of checks and messages, but a schema is built without attaching classic zod's methods to it.
 * Those modules `import * as z from "zod/mini"` themselves (a re-exported namespace would keep all
 * of zod, every locale included, in the bundle: tests/zod_import_test.ts); the contract's schemas
 * (core/api, core/protocol, core/plan) stay classic and embed these as they are.
 * tests/layer_check.ts keeps classic zod off those paths.
 *
 * Messages: classic zod sets its English messages when it builds its first schema; zod/mini sets
 * none ("Invalid input"). Every message nx shows from a zod/mini parse goes through
 * {@link firstIssue} or {@link topIssue}, and this module sets English once, so a message never
 * depends on whether the process happened to build a classic schema first.
 */
import type * as classic from "zod";
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

z.config(en());

/** Lowercase hex text of exactly `bytes` bytes (a digest, a key, an id). */
export const hexString = (bytes: number) =>
  z.string().check(z.regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`)));

/** The first line of zod's summary of a failed parse: the first issue and where it is. */
export function firstIssue(error: z.core.$ZodError): string {
  return z.prettifyError(error).split("\n")[0];
}

/** The first issue of a failed parse, in English. */
export function topIssue(error: z.core.$ZodError): z.core.$ZodIssue {
  return error.issues[0];
}

/**
 * A schema of either zod entry, for code that holds schemas of both (the method table, the
 * contract's tests): each has `parse` and `safeParse`, and z.infer works on either.
 */
export type AnySchema<T = unknown> = z.ZodMiniType<T> | classic.ZodType<T>;
