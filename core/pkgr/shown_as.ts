/**
 * A bundle opened at one path and named by another (an agent's upload directory, named as the
 * host typed it): every string of the call's result or error that holds the path gets the name
 * instead, so a remote call's output reads exactly as the local one. The path is unique (a fresh
 * upload directory), so replacing it can meet nothing else.
 */
import type { BundleRef } from "../api/mod.ts";
import { NxError } from "../errors.ts";

export async function shownAs<T>(ref: BundleRef, body: () => Promise<T>): Promise<T> {
  if (ref.kind !== "path" || ref.name === undefined || ref.name === ref.path) return await body();
  const rename = (text: string) => text.replaceAll(ref.path, ref.name!);
  try {
    return renamed(await body(), rename) as T;
  } catch (e) {
    if (!(e instanceof NxError)) throw e;
    throw new NxError(e.code, rename(e.message), {
      hint: e.hint === undefined ? undefined : rename(e.hint),
      details: e.details === undefined ? undefined : renamed(e.details, rename) as typeof e.details,
      cause: e,
    });
  }
}

function renamed(value: unknown, rename: (text: string) => string): unknown {
  if (typeof value === "string") return rename(value);
  if (Array.isArray(value)) return value.map((v) => renamed(v, rename));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renamed(v, rename)]));
  }
  return value;
}
