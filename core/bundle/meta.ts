/**
 * `meta/sbom.json` (CycloneDX 1.5), `meta/repro.env.json` (schema_version 1) and nx's
 * `meta/migrations.json`: schemas and deterministic generation.
 */
import { createHash } from "node:crypto";
import * as z from "zod/mini";
import { hexString } from "../schema/mod.ts";
import { encodeManifest } from "./manifest_codec.ts";
import type { Manifest } from "./manifest_types.ts";

export const SbomSchema = z.looseObject({
  bomFormat: z.literal("CycloneDX"),
  specVersion: z.literal("1.5"),
  version: z.int().check(z.positive()),
  metadata: z.looseObject({
    component: z.looseObject({ name: z.string(), version: z.string() }),
  }),
});

export const ReproSchema = z.looseObject({
  schema_version: z.int(),
  /** nx: SHA-256 of the manifest re-encoded with reproDigest emptied (see manifestBinding). */
  manifest_binding_sha256: z.optional(hexString(32)),
});

const stepName = (max: number) => z.string().check(z.minLength(1), z.maxLength(max));
export const MigrationStepSchema = z.strictObject({
  from: stepName(256),
  to: stepName(256),
  script: stepName(255),
});
export type MigrationStep = z.infer<typeof MigrationStepSchema>;

export const MigrationsFileSchema = z.strictObject({
  version: z.int(),
  steps: z.array(MigrationStepSchema).check(z.maxLength(1024)),
});

export interface SbomInput {
  name: string;
  version: string;
  publisher: string;
  payloadSha256: string;
  dependencies: { name: string; versionConstraint: string }[];
  sourceDateEpoch: number;
}

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");

export function buildSbom(input: SbomInput): Uint8Array {
  const timestamp = new Date(input.sourceDateEpoch * 1000).toISOString().replace(".000Z", "Z");
  return json({
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    version: 1,
    metadata: {
      timestamp,
      tools: { components: [{ type: "application", name: "nx" }] },
      component: {
        type: "application",
        "bom-ref": `${input.name}@${input.version}`,
        name: input.name,
        version: input.version,
        publisher: input.publisher,
        hashes: [{ alg: "SHA-256", content: input.payloadSha256 }],
      },
    },
    components: input.dependencies.map((d) => ({
      type: "application",
      "bom-ref": `${d.name}@${d.versionConstraint}`,
      name: d.name,
      version: d.versionConstraint,
      scope: "required",
    })),
  });
}

export interface ReproInput {
  sourceDateEpoch: number;
  tool: string;
  inputs: Record<string, string>;
  manifestBindingSha256: string;
}

export function buildRepro(input: ReproInput): Uint8Array {
  const inputs = Object.fromEntries(
    Object.entries(input.inputs).sort(([a], [b]) => a < b ? -1 : 1),
  );
  return json({
    schema_version: 1,
    source_date_epoch: input.sourceDateEpoch,
    tool: input.tool,
    inputs,
    manifest_binding_sha256: input.manifestBindingSha256,
  });
}

export function buildMigrations(steps: readonly MigrationStep[]): Uint8Array {
  return json({ version: 1, steps });
}

/**
 * What `repro.env.json` is bound to: SHA-256 of the manifest re-encoded with reproDigest emptied
 * (nx's choice where upstream's packer and verifier disagree; see docs/format.md).
 */
export function manifestBinding(m: Manifest): string {
  const bytes = encodeManifest({ ...m, reproDigest: new Uint8Array() });
  return createHash("sha256").update(bytes).digest("hex");
}
