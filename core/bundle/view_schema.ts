/**
 * The schemas of the manifest view (validate.ts `ManifestView`), for the contract (core/api) and
 * the journal's plan (core/plan/schema.ts). A side entry, not re-exported by mod.ts: verify builds
 * views and never parses one, so verify, install and pack do not build these.
 */
import * as z from "zod";
import { BUNDLE_TYPES, PAYLOAD_KINDS, RESOURCE_KINDS } from "./manifest_types.ts";

const digestHex = z.string().regex(/^(?:[0-9a-f]{64})?$/);

export const ManifestViewSchema = z.object({
  schemaVersion: z.number().int(),
  name: z.string(),
  version: z.string(),
  abilities: z.array(z.string()),
  capabilities: z.array(z.string()),
  minSdk: z.string(),
  publisher: z.string().regex(/^[0-9a-f]{32}$/),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
  payloadDigest: digestHex,
  payloadSize: z.number().int().nonnegative(),
  sbomDigest: digestHex,
  reproDigest: digestHex,
  bundleType: z.enum(BUNDLE_TYPES),
  dependencies: z.array(z.object({ name: z.string(), versionConstraint: z.string() })),
  providedServices: z.array(z.string()),
  resources: z.array(z.object({ path: z.string(), kind: z.enum(RESOURCE_KINDS) })),
  payloadKind: z.enum(PAYLOAD_KINDS),
  exports: z.array(z.object({ ability: z.string(), permission: z.string() })),
  sku: z.string().optional(),
});

const manifestShape = ManifestViewSchema.shape;
/** The manifest view strict at every level: what the protocol and the journal accept. */
export const StrictManifestViewSchema = ManifestViewSchema.extend({
  dependencies: z.array(manifestShape.dependencies.element.strict()),
  resources: z.array(manifestShape.resources.element.strict()),
  exports: z.array(manifestShape.exports.element.strict()),
}).strict();
