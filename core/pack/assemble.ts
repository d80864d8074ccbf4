/**
 * Assembles a bundle in memory from a parsed manifest.toml and source files: digests, SBOM,
 * repro record, manifest, signed file index. Pure and deterministic (same inputs and
 * SOURCE_DATE_EPOCH → byte-identical files).
 */
import { createHash } from "node:crypto";
import { NxError } from "../errors.ts";
import { fromHex, toHex } from "../bytes/mod.ts";
import {
  buildMigrations,
  buildRepro,
  buildSbom,
  encodeIndex,
  encodeIndexSig,
  encodeManifest,
  INDEX_FILE,
  INDEX_SIG_FILE,
  indexSigningMessage,
  isSafeRelativePath,
  MANIFEST_FILE,
  manifestBinding,
  MIGRATIONS_DIR,
  MIGRATIONS_FILE,
  payloadFileFor,
  REPRO_FILE,
  SBOM_FILE,
  validateManifest,
} from "../bundle/mod.ts";
import type { Manifest } from "../bundle/mod.ts";
import { compareVersions, isStrictSemver } from "../version/mod.ts";
import { fingerprint, type KeyPair, sign } from "../trust/mod.ts";
import type { PackSpec } from "./manifest_toml.ts";

export interface PackInput {
  spec: PackSpec;
  manifestToml: Uint8Array;
  payload: Uint8Array;
  /** `assets/…` and `migrations/…` files, bundle-relative. */
  extraFiles: ReadonlyMap<string, Uint8Array>;
  /** Without a key the bundle is payload-only (upstream style): `sig` and `publisher` come from the toml. */
  key?: KeyPair;
  sourceDateEpoch: number;
  tool: string;
}

export interface PackedBundle {
  name: string;
  version: string;
  publisher: string;
  keyFingerprint?: string;
  files: Map<string, Uint8Array>;
}

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash("sha256").update(bytes).digest());

/**
 * SHA-256 that hashes each buffer once: the payload and every asset are digested for the repro
 * record and again for the signed index (15 MiB of payload hashed twice was ~10 ms of a pack).
 * Keyed by the buffer itself, so it holds only for bytes nobody changes meanwhile (the inputs).
 */
function digestOnce(): (bytes: Uint8Array) => Uint8Array {
  const seen = new WeakMap<Uint8Array, Uint8Array>();
  return (bytes) => {
    let digest = seen.get(bytes);
    if (digest === undefined) seen.set(bytes, digest = sha256(bytes));
    return digest;
  };
}

function signer(input: PackInput): { publisher: string; signature: Uint8Array } {
  const { spec, key } = input;
  if (!key) {
    if (spec.publisher === undefined) missing("publisher");
    if (spec.sig === undefined) missing("sig");
    return { publisher: spec.publisher, signature: fromHex(spec.sig) };
  }
  // A rotated key signs for the publisher named in the toml; verify checks the key is listed.
  const publisher = spec.publisher ?? fingerprint(key.publicKey);
  const signature = sign(input.payload, key.seed);
  if (spec.sig !== undefined && spec.sig !== toHex(signature)) {
    invalid("sig", "does not match the payload signature made with --key");
  }
  return { publisher, signature };
}

function missing(field: string): never {
  throw new NxError("pack.missing_field", `missing required field \`${field}\``, {
    details: { field },
    hint: "pass --key to sign, or give both `publisher` and `sig` for a payload-only bundle",
  });
}

function invalid(field: string, reason: string): never {
  throw new NxError("pack.invalid_field", `invalid field \`${field}\`: ${reason}`, {
    details: { field },
  });
}

function checkSources(input: PackInput): void {
  // Without the signed index nothing would bind assets or migrations (verify refuses them).
  if (!input.key && input.extraFiles.size > 0) {
    invalid("sig", "a payload-only bundle (no --key) cannot carry assets/ or migrations/");
  }
  for (const path of input.extraFiles.keys()) {
    if (!isSafeRelativePath(path)) throw new NxError("bundle.unsafe_path", `cannot pack ${path}`);
  }
  for (const step of input.spec.migrations) {
    if (
      !isStrictSemver(step.from) || !isStrictSemver(step.to) ||
      compareVersions(step.from, step.to) >= 0
    ) {
      invalid("migrations", `${step.from} → ${step.to} must be strict SemVer going forward`);
    }
    if (!step.script.startsWith(`${MIGRATIONS_DIR}/`) || !input.extraFiles.has(step.script)) {
      throw new NxError(
        "pack.missing_input",
        `cannot pack migration: ${step.script} is not in migrations/`,
      );
    }
  }
  for (const r of input.spec.resources) {
    if (isSafeRelativePath(r.path) && !input.extraFiles.has(r.path)) {
      throw new NxError(
        "pack.missing_input",
        `cannot pack resource: ${r.path} is not in the source`,
      );
    }
  }
}

export function assembleBundle(input: PackInput): PackedBundle {
  const { spec } = input;
  const { publisher, signature } = signer(input);
  const digest = digestOnce();
  const payloadDigest = digest(input.payload);
  const base: Manifest = {
    schemaVersion: 2,
    name: spec.name,
    semver: spec.version,
    abilities: spec.abilities,
    capabilities: spec.capabilities,
    minSdk: spec.minSdk,
    publisher: fromHex(publisher),
    signature,
    payloadDigest,
    payloadSize: BigInt(input.payload.length),
    sbomDigest: new Uint8Array(),
    reproDigest: new Uint8Array(),
    bundleType: spec.bundleType,
    dependencies: spec.dependencies,
    providedServices: spec.provides,
    resources: spec.resources,
    payloadKind: spec.payloadKind,
    exports: spec.exports,
    sku: spec.sku,
  };
  validateManifest(base);
  checkSources(input);
  const sbom = buildSbom({
    name: spec.name,
    version: spec.version,
    publisher,
    payloadSha256: toHex(payloadDigest),
    dependencies: spec.dependencies,
    sourceDateEpoch: input.sourceDateEpoch,
  });
  const withSbom: Manifest = { ...base, sbomDigest: sha256(sbom) };
  const payloadPath = payloadFileFor(spec.payloadKind);
  const inputs: Record<string, string> = {
    "manifest.toml": toHex(sha256(input.manifestToml)),
    [payloadPath]: toHex(payloadDigest),
  };
  for (const [path, bytes] of input.extraFiles) inputs[path] = toHex(digest(bytes));
  const repro = buildRepro({
    sourceDateEpoch: input.sourceDateEpoch,
    tool: input.tool,
    inputs,
    manifestBindingSha256: manifestBinding(withSbom),
  });
  const manifest = encodeManifest({ ...withSbom, reproDigest: sha256(repro) });

  const files = new Map<string, Uint8Array>([
    [MANIFEST_FILE, manifest],
    [payloadPath, input.payload],
    [SBOM_FILE, sbom],
    [REPRO_FILE, repro],
    ...input.extraFiles,
  ]);
  if (spec.migrations.length > 0) files.set(MIGRATIONS_FILE, buildMigrations(spec.migrations));
  if (!input.key) return { name: spec.name, version: spec.version, publisher, files };

  const index = encodeIndex(
    [...files].map(([path, bytes]) => ({ path, size: bytes.length, sha256: toHex(digest(bytes)) })),
  );
  const indexSig = encodeIndexSig({
    alg: "ed25519",
    publisher,
    key: toHex(input.key.publicKey),
    signature: toHex(sign(indexSigningMessage(index), input.key.seed)),
  });
  files.set(INDEX_FILE, index);
  files.set(INDEX_SIG_FILE, indexSig);
  return {
    name: spec.name,
    version: spec.version,
    publisher,
    keyFingerprint: fingerprint(input.key.publicKey),
    files,
  };
}
