/**
 * The individual checks of bundle verification (pure), each naming the rule it enforces;
 * verify.ts composes them in the documented order.
 */
import * as z from "zod/mini";
import { type ErrorCode, NxError } from "../errors.ts";
import type { BundleFacts, FileFact, Manifest } from "../bundle/mod.ts";
import {
  decodeManifest,
  ELF_PAYLOAD_FILE,
  INDEX_FILE,
  INDEX_SIG_FILE,
  type IndexEntry,
  isSafeRelativePath,
  MANIFEST_FILE,
  manifestBinding,
  type ManifestView,
  MIGRATIONS_DIR,
  MIGRATIONS_FILE,
  MigrationsFileSchema,
  type MigrationStep,
  payloadFileFor,
  REPRO_FILE,
  ReproSchema,
  SBOM_FILE,
  SbomSchema,
  validateManifest,
} from "../bundle/mod.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import { firstIssue } from "../schema/mod.ts";
import { compareVersions, isStrictSemver } from "../version/mod.ts";
import { verifyStrictWithChallenge } from "./ed25519.ts";
import { parseJsonOrUndefined } from "./challenge.ts";
import { type Policy } from "./policy.ts";

export interface PolicyWarning {
  code: ErrorCode;
  message: string;
}

export class Findings {
  readonly warnings: PolicyWarning[] = [];
  constructor(private readonly mode: Policy["mode"]) {}

  /** A policy finding: fatal in strict mode; `soft` ones are warnings in permissive mode. */
  policy(code: ErrorCode, message: string, soft: "permissive" | "audit-only"): void {
    const downgraded = this.mode === "audit-only" ||
      (soft === "permissive" && this.mode === "permissive");
    if (!downgraded) throw new NxError(code, message);
    this.warnings.push({ code, message });
  }
}

export function parseJson<T>(
  bytes: Uint8Array | undefined,
  schema: z.core.$ZodType<T>,
  code: ErrorCode,
  path: string,
): T {
  const value = bytes === undefined ? undefined : parseJsonOrUndefined(bytes);
  const parsed = z.safeParse(schema, value);
  if (!parsed.success) {
    throw new NxError(code, `cannot parse ${path}: ${firstIssue(parsed.error)}`, {
      details: { path },
    });
  }
  return parsed.data;
}

export function requireVersion(version: number, path: string): void {
  if (version !== 1) {
    throw new NxError("bundle.unsupported_version", `cannot read ${path}: version ${version}`, {
      details: { path, version },
    });
  }
}

export function requireFile(facts: BundleFacts, path: string): FileFact {
  const file = facts.files[path];
  if (!file) {
    throw new NxError("bundle.missing_file", `cannot verify bundle: ${path} is missing`, {
      details: { path },
    });
  }
  return file;
}

const MISMATCH_CODE: Record<string, ErrorCode> = {
  [MANIFEST_FILE]: "integrity.manifest_digest_mismatch",
  [SBOM_FILE]: "integrity.sbom_digest_mismatch",
  [REPRO_FILE]: "integrity.repro_digest_mismatch",
  "payload.elf": "integrity.payload_digest_mismatch",
  "payload.nxir": "integrity.payload_digest_mismatch",
};

/** trust: the file set must equal the signed index exactly; each size and digest must match. */
export function checkAgainstIndex(facts: BundleFacts, entries: IndexEntry[]): void {
  const listed = new Set<string>();
  for (const entry of entries) {
    if (!isSafeRelativePath(entry.path) || listed.has(entry.path)) {
      throw new NxError("integrity.index_invalid", `cannot accept index entry ${entry.path}`);
    }
    listed.add(entry.path);
  }
  for (const entry of entries) {
    const file = facts.files[entry.path];
    if (!file) {
      throw new NxError(
        "integrity.file_missing",
        `cannot verify bundle: ${entry.path} is missing`,
        {
          details: { path: entry.path },
        },
      );
    }
    if (file.size !== entry.size || file.sha256 !== entry.sha256) {
      const code = MISMATCH_CODE[entry.path] ?? "integrity.file_digest_mismatch";
      throw new NxError(code, `cannot verify bundle: ${entry.path} does not match the index`, {
        details: { path: entry.path, expected: entry.sha256, actual: file.sha256 },
      });
    }
  }
  const dirs = new Set(entries.flatMap((e) => ancestors(e.path)));
  for (const entry of facts.entries) {
    const ours = entry.path === INDEX_FILE || entry.path === INDEX_SIG_FILE;
    const known = entry.type === "dir" ? dirs.has(entry.path) : listed.has(entry.path);
    if (!ours && !known) {
      throw new NxError(
        "integrity.file_added",
        `cannot verify bundle: ${entry.path} is not signed`,
        {
          details: { path: entry.path },
        },
      );
    }
  }
}

export function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

export function decodeAndValidate(facts: BundleFacts): { raw: Manifest; view: ManifestView } {
  const raw = decodeManifest(requireFile(facts, MANIFEST_FILE).bytes ?? new Uint8Array());
  return { raw, view: validateManifest(raw) };
}

/** trust: the manifest's own digests must agree with the bytes present. */
export function checkManifestDigests(facts: BundleFacts, view: ManifestView): FileFact {
  const payload = requireFile(facts, payloadFileFor(view.payloadKind));
  const sbom = requireFile(facts, SBOM_FILE);
  const repro = requireFile(facts, REPRO_FILE);
  if (payload.size !== view.payloadSize) {
    throw new NxError("integrity.payload_size_mismatch", "cannot verify payload: size differs", {
      details: { expected: view.payloadSize, actual: payload.size },
    });
  }
  const digests: [string, FileFact, ErrorCode][] = [
    [view.payloadDigest, payload, "integrity.payload_digest_mismatch"],
    [view.sbomDigest, sbom, "integrity.sbom_digest_mismatch"],
    [view.reproDigest, repro, "integrity.repro_digest_mismatch"],
  ];
  for (const [expected, file, code] of digests) {
    if (expected !== "" && expected !== file.sha256) {
      throw new NxError(code, `cannot verify ${file.path}: digest differs from the manifest`, {
        details: { path: file.path, expected, actual: file.sha256 },
      });
    }
  }
  // trust: an ELF payload must at least be an ELF file
  const elfMagic = [0x7f, 0x45, 0x4c, 0x46];
  if (payload.path === ELF_PAYLOAD_FILE && !elfMagic.every((b, i) => payload.head[i] === b)) {
    throw new NxError("bundle.invalid_payload", "cannot accept payload.elf: not an ELF file");
  }
  return payload;
}

export function checkPayloadSignature(
  facts: BundleFacts,
  view: ManifestView,
  key: Uint8Array,
  payload: FileFact,
  findings: Findings,
): void {
  const signature = fromHex(view.signature);
  // trust: an all-zero signature field is how upstream marks an unsigned bundle
  if (signature.every((b) => b === 0)) {
    findings.policy(
      "policy.unsigned",
      "cannot verify payload: the bundle is unsigned",
      "audit-only",
    );
    return;
  }
  const c = facts.challenge;
  if (
    !c || c.path !== payload.path || c.prefixHex !== toHex(signature.subarray(0, 32)) + toHex(key)
  ) {
    throw new NxError("internal.unexpected", "cannot verify payload: challenge was not streamed");
  }
  // trust: the upstream payload signature (manifest.signature) must verify with the same key
  if (!verifyStrictWithChallenge(signature, key, c.sha512)) {
    findings.policy("policy.signature_invalid", "cannot verify payload signature", "audit-only");
  }
}

export function checkMeta(facts: BundleFacts, raw: Manifest): MigrationStep[] {
  parseJson(facts.files[SBOM_FILE]?.bytes, SbomSchema, "bundle.invalid_meta", SBOM_FILE);
  const repro = parseJson(
    facts.files[REPRO_FILE]?.bytes,
    ReproSchema,
    "bundle.invalid_meta",
    REPRO_FILE,
  );
  requireVersion(repro.schema_version, REPRO_FILE);
  // trust: repro.env.json names the manifest it belongs to (binding = manifest minus reproDigest)
  if (
    repro.manifest_binding_sha256 !== undefined &&
    repro.manifest_binding_sha256 !== manifestBinding(raw)
  ) {
    throw new NxError(
      "integrity.binding_mismatch",
      "cannot verify repro record: bound to another manifest",
    );
  }
  for (const r of raw.resources) requireFile(facts, r.path);
  if (!facts.files[MIGRATIONS_FILE]) return [];
  const file = parseJson(
    facts.files[MIGRATIONS_FILE].bytes,
    MigrationsFileSchema,
    "bundle.invalid_migrations",
    MIGRATIONS_FILE,
  );
  requireVersion(file.version, MIGRATIONS_FILE);
  for (const step of file.steps) {
    const ok = isStrictSemver(step.from) && isStrictSemver(step.to) &&
      compareVersions(step.from, step.to) < 0 &&
      step.script.startsWith(`${MIGRATIONS_DIR}/`) && isSafeRelativePath(step.script) &&
      facts.files[step.script] !== undefined;
    if (!ok) {
      throw new NxError(
        "bundle.invalid_migrations",
        `cannot accept migration ${step.from} → ${step.to}`,
        {
          details: { step },
        },
      );
    }
  }
  return file.steps;
}
