/**
 * Bundle verification, pure: facts gathered by one read of the bundle + the root's policy →
 * a verified bundle, or an NxError with a stable code. Check order is documented in
 * docs/signing.md; nx-signed bundles are authenticated before their manifest is validated and
 * used (the bounded decoder reads it once earlier, only to plan the streamed payload hash).
 */
import { NxError } from "../errors.ts";
import {
  type BundleFacts,
  FileIndexSchema,
  INDEX_FILE,
  INDEX_SIG_FILE,
  type IndexEntry,
  indexSigningMessage,
  IndexSigSchema,
  MANIFEST_FILE,
  type ManifestView,
  type MigrationStep,
  REPRO_FILE,
  SBOM_FILE,
} from "../bundle/mod.ts";
import { fromHex } from "../bytes/mod.ts";
import { verifyStrict } from "./ed25519.ts";
import { fingerprint } from "./keys.ts";
import { payloadKeyFor } from "./challenge.ts";
import { checkStructure } from "./verify_structure.ts";
import { decidePublisher, type Policy, type PublishersFile } from "./policy.ts";
import {
  checkAgainstIndex,
  checkManifestDigests,
  checkMeta,
  checkPayloadSignature,
  decodeAndValidate,
  Findings,
  parseJson,
  type PolicyWarning,
  requireFile,
  requireVersion,
} from "./_verify_checks.ts";

export type { PolicyWarning };

export interface VerifyContext {
  policy: Policy;
  publishers: PublishersFile;
  /** Reference time fixed once per operation. */
  now: Date;
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
