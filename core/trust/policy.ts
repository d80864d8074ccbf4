/**
 * The trust policy of a state root: `pkg/publishers.toml` (upstream allowlist shape) and
 * `pkg/policy.toml` (nx settings). Schemas, defaults and the publisher decision (pure).
 */
import * as z from "zod/mini";
import { NxError } from "../errors.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import { hexString } from "../schema/mod.ts";
import { fingerprint } from "./keys.ts";
import { isStrictSemver } from "../version/mod.ts";

export const POLICY_VERSION = 1;
export const PUBLISHERS_VERSION = 1;
export const SUPPORTED_ALGS = ["ed25519"] as const;

export const PublisherSchema = z.strictObject({
  id: hexString(16),
  name: z.optional(z.string().check(z.maxLength(64))),
  enabled: z.boolean(),
  allowed_algs: z.array(z.string()),
  /** Public keys (32 bytes, hex) this publisher signs with. */
  keys: z.array(hexString(32)),
});
export type Publisher = z.infer<typeof PublisherSchema>;

/**
 * trust: one publisher id names one entry, and one key belongs to one entry once. A second entry
 * for an id would make the decision depend on file order (the first match wins), and a key listed
 * under two publishers would let it sign as either of them.
 */
export function checkUniquePublishers(
  publishers: readonly Publisher[],
  action = "read publishers.toml",
): void {
  const ids = new Set<string>();
  const owners = new Map<string, string>();
  for (const p of publishers) {
    if (ids.has(p.id)) {
      throw new NxError(
        "policy.duplicate_publisher",
        `cannot ${action}: publisher ${p.id} is listed twice`,
        { details: { publisher: p.id }, hint: "merge the two [[publishers]] entries into one" },
      );
    }
    ids.add(p.id);
    for (const key of p.keys) {
      const owner = owners.get(key);
      if (owner !== undefined) {
        throw new NxError(
          "policy.duplicate_publisher",
          owner === p.id
            ? `cannot ${action}: key ${key} is listed twice for publisher ${p.id}`
            : `cannot ${action}: key ${key} is listed for publishers ${owner} and ${p.id}`,
          {
            details: { key, publishers: [owner, p.id] },
            hint: "a key belongs to one publisher: remove it from the other entry",
          },
        );
      }
      owners.set(key, p.id);
    }
  }
}

/**
 * `pkg/publishers.toml`. Parsing also runs {@link checkUniquePublishers}, which throws
 * `policy.duplicate_publisher` (an NxError, not a zod issue: the code must survive the loader).
 */
export const PublishersFileSchema = z.strictObject({
  version: z.int(),
  publishers: z._default(z.array(PublisherSchema), []),
}).check(z.superRefine((file) => checkUniquePublishers(file.publishers)));
export type PublishersFile = z.infer<typeof PublishersFileSchema>;

export const POLICY_MODES = ["strict", "permissive", "audit-only"] as const;
export type PolicyMode = typeof POLICY_MODES[number];

/** An integer in [min, max], `fallback` when absent. */
const intSetting = (min: number, max: number, fallback: number) =>
  z._default(z.int().check(z.gte(min), z.lte(max)), fallback);

export const PolicySchema = z.strictObject({
  version: z.int(),
  /** strict: every policy deny fails; permissive (dev): publisher denies on nx-signed bundles
   * become warnings (the signature is still checked, with the key the bundle names; payload-only
   * bundles still need a trusted key); audit-only: every policy.* finding becomes a warning.
   * Installing a bundle that is not fully trusted also needs dev_mode. */
  mode: z._default(z.enum(POLICY_MODES), "strict"),
  dev_mode: z._default(z.boolean(), false),
  allow_payload_only_signatures: z._default(z.boolean(), false),
  /** The SDK version this root provides (preflight: manifest minSdk ≤ sdk_version). */
  sdk_version: z._default(
    z.string().check(z.refine(isStrictSemver, "must be strict SemVer")),
    "1.0.0",
  ),
  /** "user" roots refuse system-role bundle types (shell, greeter, driver, …). */
  root_role: z._default(z.enum(["system", "user"]), "system"),
  /** How many previous versions of each app are retained for rollback. */
  retain_versions: intSetting(0, 16, 2),
  migration_max_steps: intSetting(1, 64, 64),
  migration_step_timeout_ms: intSetting(100, 60_000, 4000),
  /** Per-app quota for version content plus data, in MiB (0 = none). */
  app_quota_mib: z._default(z.int().check(z.gte(0)), 0),
});
export type Policy = z.infer<typeof PolicySchema>;

export function defaultPolicy(): Policy {
  return PolicySchema.parse({ version: POLICY_VERSION });
}

export function emptyPublishers(): PublishersFile {
  return { version: PUBLISHERS_VERSION, publishers: [] };
}

export type DenyReason = "publisher_unknown" | "disabled" | "alg_unsupported" | "key_unknown";

export type PublisherDecision =
  | { allow: true; publisher: Publisher; key: Uint8Array }
  | { allow: false; reason: DenyReason; publisher?: Publisher };

/**
 * The upstream decision, checks in upstream order: publisher_unknown, disabled, alg_unsupported,
 * key_unknown. `key` is the signing key the bundle names; when absent (payload-only bundles) the
 * publisher key whose fingerprint equals the publisher id is used.
 */
export function decidePublisher(
  publishers: PublishersFile,
  request: { publisherId: string; alg: string; key?: Uint8Array },
): PublisherDecision {
  // trust: publisher_unknown — the id must be listed
  const publisher = publishers.publishers.find((p) => p.id === request.publisherId);
  if (!publisher) return { allow: false, reason: "publisher_unknown" };
  // trust: disabled — a listed but disabled publisher signs nothing
  if (!publisher.enabled) return { allow: false, reason: "disabled", publisher };
  // trust: alg_unsupported — both the publisher and nx must allow the algorithm
  const algOk = publisher.allowed_algs.includes(request.alg) &&
    (SUPPORTED_ALGS as readonly string[]).includes(request.alg);
  if (!algOk) return { allow: false, reason: "alg_unsupported", publisher };
  // trust: key_unknown — the signing key must be one of the publisher's keys
  const wanted = request.key ? toHex(request.key) : undefined;
  const keyHex = publisher.keys.find((k) =>
    wanted ? k === wanted : fingerprint(fromHex(k)) === request.publisherId
  );
  if (!keyHex) return { allow: false, reason: "key_unknown", publisher };
  return { allow: true, publisher, key: fromHex(keyHex) };
}

/**
 * Adds or replaces a publisher entry keyed by id; the result is sorted by id. A key that another
 * entry already holds is refused (`policy.duplicate_publisher`), so nx never writes a file it
 * would refuse to read.
 */
export function withPublisher(file: PublishersFile, publisher: Publisher): PublishersFile {
  const rest = file.publishers.filter((p) => p.id !== publisher.id);
  const publishers = [...rest, publisher].sort((a, b) => a.id < b.id ? -1 : 1);
  checkUniquePublishers(publishers, `trust publisher ${publisher.id}`);
  return { ...file, publishers };
}

export function withoutPublisher(file: PublishersFile, id: string): PublishersFile {
  return { ...file, publishers: file.publishers.filter((p) => p.id !== id) };
}
