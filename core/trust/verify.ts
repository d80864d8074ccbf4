/**
 * Bundle verification, pure: facts gathered by one read of the bundle + the root's policy →
 * a verified bundle, or an NxError with a stable code. Check order is documented in
 * docs/signing.md; nx-signed bundles are authenticated before their manifest is validated and
 * used (the bounded decoder reads it once earlier, only to plan the streamed payload hash).
 */
import { z } from "zod";
import { type ErrorCode, NxError } from "../errors.ts";
import type { BundleFacts, FileFact, Manifest } from "../bundle/mod.ts";
import {
  decodeManifest,
  ELF_PAYLOAD_FILE,
  FileIndexSchema,
  INDEX_FILE,
  INDEX_SIG_FILE,
  type IndexEntry,
  indexSigningMessage,
  IndexSigSchema,
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
import { compareVersions, isStrictSemver } from "../version/mod.ts";
import { verifyStrict, verifyStrictWithChallenge } from "./ed25519.ts";
import { fingerprint } from "./keys.ts";
import { parseJsonOrUndefined, payloadKeyFor } from "./challenge.ts";
import { checkStructure } from "./verify_structure.ts";
import { decidePublisher, type Policy, type PublishersFile } from "./policy.ts";

export interface VerifyContext {
  policy: Policy;
  publishers: PublishersFile;
  /** Reference time fixed once per operation. */
  now: Date;
}

export interface PolicyWarning {
  code: ErrorCode;
  message: string;
}

export type SignatureScheme = "nx-index" | "payload-only";

export interface VerifiedBundle {
  manifest: ManifestView;
  scheme: SignatureScheme;
  signer: { publisher: string; key: string; trusted: boolean };
  files: IndexEntry[];
  totalSize: number;
  migrations: MigrationStep[];
  warnings: PolicyWarning[];
}

const UPSTREAM_FILES = new Set([MANIFEST_FILE, SBOM_FILE, REPRO_FILE]);

class Findings {
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

function parseJson<T>(
  bytes: Uint8Array | undefined,
  schema: z.ZodType<T>,
  code: ErrorCode,
  path: string,
): T {
  const parsed = schema.safeParse(bytes === undefined ? undefined : parseJsonOrUndefined(bytes));
  if (!parsed.success) {
    throw new NxError(
      code,
      `cannot parse ${path}: ${z.prettifyError(parsed.error).split("\n")[0]}`,
      {
        details: { path },
      },
    );
  }
  return parsed.data;
}

function requireVersion(version: number, path: string): void {
  if (version !== 1) {
    throw new NxError("bundle.unsupported_version", `cannot read ${path}: version ${version}`, {
      details: { path, version },
    });
  }
}

function requireFile(facts: BundleFacts, path: string): FileFact {
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
function checkAgainstIndex(facts: BundleFacts, entries: IndexEntry[]): void {
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

function ancestors(path: string): string[] {
  const parts = path.split("/");
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

function decodeAndValidate(facts: BundleFacts): { raw: Manifest; view: ManifestView } {
  const raw = decodeManifest(requireFile(facts, MANIFEST_FILE).bytes ?? new Uint8Array());
  return { raw, view: validateManifest(raw) };
}

/** trust: the manifest's own digests must agree with the bytes present. */
function checkManifestDigests(facts: BundleFacts, view: ManifestView): FileFact {
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

function checkPayloadSignature(
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

function checkMeta(facts: BundleFacts, raw: Manifest): MigrationStep[] {
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

function indexedFiles(facts: BundleFacts): IndexEntry[] {
  return Object.values(facts.files)
    .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

function verifyNxIndexed(
  facts: BundleFacts,
  ctx: VerifyContext,
  findings: Findings,
): VerifiedBundle {
  const indexBytes = facts.files[INDEX_FILE]?.bytes;
  const sigBytes = facts.files[INDEX_SIG_FILE]?.bytes;
  if (!indexBytes) {
    throw new NxError("integrity.index_invalid", `cannot verify bundle: ${INDEX_FILE} is missing`);
  }
  const sig = parseJson(sigBytes, IndexSigSchema, "integrity.index_invalid", INDEX_SIG_FILE);
  requireVersion(sig.version, INDEX_SIG_FILE);
  const signingKey = fromHex(sig.key);
  const decision = decidePublisher(ctx.publishers, {
    publisherId: sig.publisher,
    alg: sig.alg,
    key: signingKey,
  });
  if (!decision.allow) {
    findings.policy(
      `policy.${decision.reason}`,
      `cannot trust publisher ${sig.publisher}: ${decision.reason}`,
      "permissive",
    );
    // trust: without a trusted key only an algorithm nx implements can still be checked
    if (sig.alg !== "ed25519") {
      throw new NxError("policy.alg_unsupported", `cannot verify ${sig.alg} signatures`);
    }
  }
  // trust: the index signature covers the exact bytes of meta/index.json (domain-separated)
  if (!verifyStrict(fromHex(sig.signature), indexSigningMessage(indexBytes), signingKey)) {
    findings.policy("policy.signature_invalid", "cannot verify the index signature", "audit-only");
  }
  const index = parseJson(indexBytes, FileIndexSchema, "integrity.index_invalid", INDEX_FILE);
  requireVersion(index.version, INDEX_FILE);
  checkAgainstIndex(facts, index.files);
  // Authenticated from here on: the manifest is in the signed index.
  const { raw, view } = decodeAndValidate(facts);
  if (view.publisher !== sig.publisher) {
    throw new NxError(
      "policy.publisher_mismatch",
      "cannot verify bundle: manifest.publisher differs from the signer",
    );
  }
  const payload = checkManifestDigests(facts, view);
  checkPayloadSignature(facts, view, signingKey, payload, findings);
  const migrations = checkMeta(facts, raw);
  return result(
    view,
    "nx-index",
    sig.publisher,
    signingKey,
    decision.allow,
    facts,
    migrations,
    findings,
  );
}

function verifyPayloadOnly(
  facts: BundleFacts,
  ctx: VerifyContext,
  findings: Findings,
): VerifiedBundle {
  if (facts.files[INDEX_FILE]) {
    throw new NxError(
      "integrity.index_invalid",
      `cannot verify bundle: ${INDEX_SIG_FILE} is missing`,
    );
  }
  // trust: payload-only bundles leave the manifest unsigned; accepted only when the policy says so
  if (!ctx.policy.allow_payload_only_signatures) {
    findings.policy(
      "policy.payload_only_signature",
      "cannot verify bundle: only the payload is signed",
      "audit-only",
    );
  }
  const { raw, view } = decodeAndValidate(facts);
  const payload = checkManifestDigests(facts, view);
  // trust: with nothing binding them, files beyond the upstream four are refused
  for (const entry of facts.entries) {
    const allowed = entry.type === "dir"
      ? entry.path === "meta"
      : UPSTREAM_FILES.has(entry.path) || entry.path === payload.path;
    if (!allowed) {
      throw new NxError(
        "integrity.file_added",
        `cannot verify bundle: ${entry.path} is not signed`,
        {
          details: { path: entry.path },
        },
      );
    }
  }
  const decision = decidePublisher(ctx.publishers, { publisherId: view.publisher, alg: "ed25519" });
  if (!decision.allow) {
    const message = `cannot trust publisher ${view.publisher}: ${decision.reason}`;
    if (ctx.policy.mode !== "audit-only") throw new NxError(`policy.${decision.reason}`, message);
    findings.warnings.push({ code: `policy.${decision.reason}`, message });
  }
  const key = payloadKeyFor(undefined, view.publisher, ctx.publishers);
  if (key) checkPayloadSignature(facts, view, key, payload, findings);
  else {
    findings.warnings.push({
      code: "policy.signature_invalid",
      message: "cannot check the payload signature: no trusted key for this publisher",
    });
  }
  const migrations = checkMeta(facts, raw);
  return result(
    view,
    "payload-only",
    view.publisher,
    key,
    decision.allow,
    facts,
    migrations,
    findings,
  );
}

function result(
  view: ManifestView,
  scheme: SignatureScheme,
  publisher: string,
  key: Uint8Array | undefined,
  trusted: boolean,
  facts: BundleFacts,
  migrations: MigrationStep[],
  findings: Findings,
): VerifiedBundle {
  const files = indexedFiles(facts);
  return {
    manifest: view,
    scheme,
    signer: {
      publisher,
      key: key ? fingerprint(key) : "",
      trusted: trusted && findings.warnings.length === 0,
    },
    files,
    totalSize: files.reduce((n, f) => n + f.size, 0),
    migrations,
    warnings: findings.warnings,
  };
}

export function verifyBundle(
  facts: BundleFacts,
  ctx: VerifyContext,
  displayPath: string,
): VerifiedBundle {
  checkStructure(facts, displayPath);
  requireFile(facts, MANIFEST_FILE);
  const findings = new Findings(ctx.policy.mode);
  return facts.files[INDEX_SIG_FILE] || facts.entries.some((e) => e.path === INDEX_SIG_FILE)
    ? verifyNxIndexed(facts, ctx, findings)
    : verifyPayloadOnly(facts, ctx, findings);
}
