/**
 * The `--json` checks every suite makes of a verb's output: one envelope, keys by the key rule
 * (docs/cli.md#the-json-envelope), and `data` that parses strictly with its published schema.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { EnvelopeSchema, PublisherListSchema } from "../core/protocol/mod.ts";
import type { AnySchema } from "../core/schema/mod.ts";
import { PolicySchema, PublisherSchema } from "../core/trust/policy.ts";
import { nx, type NxOptions } from "./helpers.ts";

/**
 * The keys of `value` that break the key rule: camelCase, except (`mirrors`) the keys of the two
 * objects that mirror a snake_case file of the root: the policy (`pkg/policy.toml`) and a
 * publisher entry (`pkg/publishers.toml`).
 */
const MIRRORED = new Set([
  ...Object.keys(PolicySchema.shape),
  ...Object.keys(PublisherSchema.shape),
]);
export function offCase(value: unknown, mirrors = false, at = "data"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => offCase(v, mirrors, `${at}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [
    ...(/^[a-z][a-zA-Z0-9]*$/.test(k) || (mirrors && MIRRORED.has(k)) ? [] : [`${at}.${k}`]),
    ...offCase(v, mirrors, `${at}.${k}`),
  ]);
}

/** Runs `nx <args> --json`, expects success, and returns `data` parsed with `schema`. */
export async function jsonData<S extends AnySchema>(
  args: string[],
  schema: S,
  options: NxOptions = {},
): Promise<z.infer<S>> {
  const r = await nx([...args, "--json"], options);
  assert.equal(r.code, 0, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
  const envelope = EnvelopeSchema.parse(r.json);
  assert.equal(envelope.ok, true);
  const mirrors = ([PolicySchema, PublisherSchema, PublisherListSchema] as AnySchema[])
    .includes(schema);
  assert.deepEqual(offCase(envelope.data, mirrors), [], `${args.join(" ")}: a key off the rule`);
  const parsed = z.safeParse(schema, envelope.data);
  if (!parsed.success) {
    assert.fail(
      `${args.join(" ")}: data does not match its schema:\n${z.prettifyError(parsed.error)}\n${
        JSON.stringify(envelope.data, null, 1)
      }`,
    );
  }
  // No defaults filled in, nothing stripped: the output already is exactly the schema's shape.
  assert.deepEqual(parsed.data, envelope.data);
  return parsed.data as z.infer<S>;
}
