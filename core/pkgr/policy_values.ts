/**
 * `policy set` values: the keys as the command line spells them, the values each key takes (from
 * the policy schema itself, so the list cannot drift), and which changes lower what the root
 * checks.
 */
import { NxError } from "../errors.ts";
import { type Policy, POLICY_MODES, PolicySchema } from "../trust/mod.ts";

/** Policy keys on the command line use dashes: `dev-mode` → `dev_mode`. */
export const POLICY_KEYS = Object.keys(PolicySchema.shape)
  .filter((k) => k !== "version")
  .map((k) => k.replaceAll("_", "-"));

type Field = keyof Policy;

function fieldOf(key: string): Field {
  return key.replaceAll("-", "_") as Field;
}

/** What a key accepts, in words: "one of strict, permissive, audit-only", "on or off", … */
export function allowedValues(key: string): string {
  // deno-lint-ignore no-explicit-any
  let schema: any = PolicySchema.shape[fieldOf(key)];
  while (schema.def.type === "default" || schema.def.type === "optional") {
    schema = schema.def.innerType;
  }
  // from the definition and its checks, which classic and mini schemas share
  const bound = (check: "greater_than" | "less_than"): number | undefined =>
    // deno-lint-ignore no-explicit-any
    schema.def.checks?.find((c: any) => c._zod.def.check === check)?._zod.def.value;
  switch (schema.def.type) {
    case "enum":
      return `one of ${Object.values(schema.def.entries as Record<string, string>).join(", ")}`;
    case "boolean":
      return "on or off";
    case "number": {
      const [minimum, maximum] = [bound("greater_than"), bound("less_than")];
      return maximum === undefined
        ? `an integer of at least ${minimum}`
        : `an integer from ${minimum} to ${maximum}`;
    }
    default:
      return key === "sdk-version" ? "a strict SemVer version such as 1.2.0" : "text";
  }
}

function parseValue(text: string): unknown {
  if (["on", "true", "yes"].includes(text)) return true;
  if (["off", "false", "no"].includes(text)) return false;
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

/** The policy with `key` set to `value`; an unknown key or a bad value is `usage.invalid_argument`. */
export function policyValue(policy: Policy, key: string, value: string): Policy {
  if (!POLICY_KEYS.includes(key)) {
    throw new NxError("usage.invalid_argument", `cannot set policy key \`${key}\`: no such key`, {
      details: { key, keys: POLICY_KEYS },
      hint: `keys: ${POLICY_KEYS.join(", ")}`,
    });
  }
  const next = PolicySchema.safeParse({ ...policy, [fieldOf(key)]: parseValue(value) });
  if (!next.success) {
    const allowed = allowedValues(key);
    throw new NxError(
      "usage.invalid_argument",
      `cannot set ${key} to \`${value}\`: it must be ${allowed}`,
      {
        details: { key, value, allowed },
        hint: `\`nx pkg policy show\` prints the current values`,
      },
    );
  }
  return next.data;
}

/** How strong each mode is: lower is weaker. */
const MODE_STRENGTH: Record<Policy["mode"], number> = Object.fromEntries(
  [...POLICY_MODES].reverse().map((m, i) => [m, i]),
) as Record<Policy["mode"], number>;

function shown(v: unknown): string | number {
  return typeof v === "boolean" ? (v ? "on" : "off") : v as string | number;
}

/**
 * What changed from `before` to `after` (one key), or undefined when nothing did; `weakened`
 * says, in words, how the change lowers what the root checks: a weaker mode, dev-mode or
 * payload-only signatures turned on, a user root made a system root.
 */
export function policyChange(
  before: Policy,
  after: Policy,
  key: string,
): { from: string | number; to: string | number; weakened: string[] } | undefined {
  const field = fieldOf(key);
  if (before[field] === after[field]) return undefined;
  const weakened: string[] = [];
  if (MODE_STRENGTH[after.mode] < MODE_STRENGTH[before.mode]) {
    weakened.push(
      `mode ${after.mode} is weaker than ${before.mode}: ` +
        (after.mode === "audit-only"
          ? "every policy finding is now only a warning"
          : "bundles of untrusted publishers now verify with a warning"),
    );
  }
  if (after.dev_mode && !before.dev_mode) {
    weakened.push("dev-mode on: bundles that verify only with warnings can now be installed");
  }
  if (after.allow_payload_only_signatures && !before.allow_payload_only_signatures) {
    weakened.push("payload-only signatures accepted: their manifests are not signed");
  }
  if (after.root_role === "system" && before.root_role === "user") {
    weakened.push("root-role system: system-role bundle types (shell, driver, …) are accepted");
  }
  return { from: shown(before[field]), to: shown(after[field]), weakened };
}
