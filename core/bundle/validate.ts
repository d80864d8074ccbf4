/**
 * Manifest validation as upstream does it (trimmed name, strict SemVer, ≥ 1 ability, 16-byte
 * publisher, 64-byte signature, 32-byte digests) plus nx's fail-closed rules (app id syntax, name
 * limits, privilege ceiling and export namespace, also enforced at pack time). Produces the JSON
 * view.
 */
import { extname } from "node:path";
import { NxError } from "../errors.ts";
import { toHex } from "../bytes/mod.ts";
import { isValidRange, versionProblem } from "../version/mod.ts";
import { isSafeRelativePath } from "./layout.ts";
import {
  type BundleType,
  type Manifest,
  type PayloadKind,
  type ResourceKind,
} from "./manifest_types.ts";

export const SUPPORTED_SCHEMA_VERSIONS = [1, 2] as const;
/**
 * App ids become directory names: a conservative, portable alphabet. Never empty, `.` or `..`
 * (the first character is alphanumeric), never holding `/` or NUL, at most 64 bytes.
 */
export const APP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** NAME_MAX of Linux file systems (ext4, xfs, btrfs, tmpfs): bytes of one path component. */
export const NAME_MAX = 255;
/**
 * The longest affix nx puts around a name it derives from a manifest: the temp sibling
 * `.<name>.<pid>.<n>.tmp` of an atomic write (core/store tempName): 1 + (1 + 7) + (1 + 16) + 4
 * bytes, with a pid ≤ 4194304 (Linux pid_max limit) and a counter ≤ 2^53.
 */
export const NAME_AFFIX_MAX = 30;
/**
 * The longest manifest value nx turns into a path component (`versions/<ver>`, `data/<ver>`, the
 * icon cache's `icon<ext>`): every name derived from it, affix included, fits NAME_MAX.
 */
export const MANIFEST_NAME_MAX = NAME_MAX - NAME_AFFIX_MAX;

export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}

const SKU = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/**
 * The JSON view of a manifest, what verify returns and the registry keeps (hex for bytes). Its
 * schema, for the contract and the journal, is core/bundle/view_schema.ts: verify builds the view,
 * it never parses one.
 */
export interface ManifestView {
  schemaVersion: number;
  name: string;
  version: string;
  abilities: string[];
  capabilities: string[];
  minSdk: string;
  /** 16 bytes, 32 hex. */
  publisher: string;
  /** 64 bytes, 128 hex. */
  signature: string;
  /** 32 bytes as 64 hex, or "" when the manifest carries none (also sbomDigest, reproDigest). */
  payloadDigest: string;
  payloadSize: number;
  sbomDigest: string;
  reproDigest: string;
  bundleType: BundleType;
  dependencies: { name: string; versionConstraint: string }[];
  providedServices: string[];
  resources: { path: string; kind: ResourceKind }[];
  payloadKind: PayloadKind;
  exports: { ability: string; permission: string }[];
  sku?: string;
}

/** Which bundle types may hold a privileged capability (upstream's pack-time ceiling). */
export const PRIVILEGE_CEILING: Readonly<Record<string, readonly BundleType[]>> = {
  "nexus.permission.SESSION": ["greeter"],
  "nexus.permission.LAUNCH": ["shell"],
  "nexus.permission.ENUMERATE": ["shell"],
  "nexus.permission.SETTINGS": ["settings", "shell"],
  "nexus.permission.FILES": ["filemanager"],
  "nexus.permission.IME": ["ime"],
};

function missing(field: string): never {
  throw new NxError("manifest.missing_field", `missing required field \`${field}\``, {
    details: { field },
  });
}

function invalid(field: string, reason: string): never {
  throw new NxError("manifest.invalid_field", `invalid field \`${field}\`: ${reason}`, {
    details: { field, reason },
  });
}

function bytesOf(field: string, value: Uint8Array | undefined, length: number): string {
  if (value === undefined) missing(field);
  if (value.length !== length) invalid(field, `must be ${length} bytes, got ${value.length}`);
  return toHex(value);
}

function digestOf(field: string, value: Uint8Array): string {
  if (value.length !== 0 && value.length !== 32) {
    invalid(field, `must be empty or 32 bytes, got ${value.length}`);
  }
  return toHex(value);
}

function semverOf(field: string, value: string | undefined): string {
  if (value === undefined) missing(field);
  const problem = versionProblem(value);
  if (problem !== undefined) invalid(field, problem);
  return value;
}

/** trust: a value that becomes a path component must leave room for every name derived from it. */
function fitsName(field: string, name: string): void {
  const bytes = utf8Length(name);
  if (bytes > MANIFEST_NAME_MAX) {
    throw new NxError(
      "preflight.name_too_long",
      `cannot accept \`${field}\`: it becomes a ${bytes}-byte file name, more than ${MANIFEST_NAME_MAX}`,
      { details: { field, bytes, max: MANIFEST_NAME_MAX } },
    );
  }
}

function nonEmpty(field: string, values: string[]): string[] {
  if (values.some((v) => v.trim().length === 0)) invalid(field, "entries must be non-empty");
  return values;
}

/** Checks a capability list against the bundle type (fail closed). */
export function checkPrivilegeCeiling(capabilities: string[], bundleType: BundleType): void {
  for (const cap of capabilities) {
    const allowed = PRIVILEGE_CEILING[cap];
    if (allowed && !allowed.includes(bundleType)) {
      throw new NxError(
        "manifest.privilege_ceiling",
        `cannot grant ${cap}: needs bundle_type ${allowed.join(" or ")}, got ${bundleType}`,
        { details: { capability: cap, bundleType, allowed } },
      );
    }
  }
}

/** Export permissions must live in the app's own namespace: `app.<name>.<CAP>`. */
export function checkExportNamespace(name: string, exports: Manifest["exports"]): void {
  const prefix = `app.${name}.`;
  for (const e of exports) {
    const cap = e.permission.slice(prefix.length);
    if (!e.permission.startsWith(prefix) || !/^[A-Z][A-Z0-9_]*$/.test(cap)) {
      throw new NxError(
        "manifest.export_namespace",
        `invalid export permission \`${e.permission}\`: must be ${prefix}<CAP>`,
        { details: { permission: e.permission } },
      );
    }
    if (e.ability.trim().length === 0) invalid("exports", "ability must be non-empty");
  }
}

export function validateManifest(m: Manifest): ManifestView {
  if (!(SUPPORTED_SCHEMA_VERSIONS as readonly number[]).includes(m.schemaVersion)) {
    throw new NxError(
      "manifest.unsupported_version",
      `cannot read manifest: schemaVersion ${m.schemaVersion} is not supported`,
      { details: { schemaVersion: m.schemaVersion } },
    );
  }
  if (m.name === undefined) missing("name");
  const name = m.name;
  if (name.trim().length === 0) invalid("name", "must be non-empty");
  if (name !== name.trim()) invalid("name", "must be trimmed");
  if (!APP_ID.test(name)) invalid("name", "must match [a-z0-9][a-z0-9._-]{0,63}");
  fitsName("name", name); // apps/<id>, pkg/cache/icons/<id>: the grammar already bounds it
  const version = semverOf("semver", m.semver);
  // versions/<ver> and data/<ver> (SemVer is ASCII: one byte per character).
  fitsName("semver", version);
  if (m.abilities.filter((a) => a.trim().length > 0).length === 0) {
    invalid("abilities", "must contain at least one non-empty entry");
  }
  nonEmpty("abilities", m.abilities);
  nonEmpty("capabilities", m.capabilities);
  nonEmpty("providedServices", m.providedServices);
  const minSdk = semverOf("minSdk", m.minSdk);
  const publisher = bytesOf("publisher", m.publisher, 16);
  const signature = bytesOf("signature", m.signature, 64);
  if (m.payloadSize > BigInt(Number.MAX_SAFE_INTEGER)) invalid("payloadSize", "too large");
  for (const d of m.dependencies) {
    if (!APP_ID.test(d.name)) invalid("dependencies", `bad dependency name \`${d.name}\``);
    if (!isValidRange(d.versionConstraint)) {
      invalid("dependencies", `bad version constraint \`${d.versionConstraint}\` for ${d.name}`);
    }
  }
  for (const r of m.resources) {
    if (!isSafeRelativePath(r.path)) {
      throw new NxError(
        "bundle.unsafe_path",
        `invalid field \`resources\`: unsafe path \`${r.path}\``,
        {
          details: { field: "resources", path: r.path },
        },
      );
    }
    // The launcher's icon cache keeps it as pkg/cache/icons/<id>/icon<ext>.
    if (r.kind === "icon") fitsName("resources", `icon${extname(r.path)}`);
  }
  if (m.sku !== undefined && !SKU.test(m.sku)) invalid("sku", "must match [A-Za-z0-9._-]{1,64}");
  checkPrivilegeCeiling(m.capabilities, m.bundleType);
  checkExportNamespace(name, m.exports);
  return {
    schemaVersion: m.schemaVersion,
    name,
    version,
    abilities: m.abilities,
    capabilities: m.capabilities,
    minSdk,
    publisher,
    signature,
    payloadDigest: digestOf("payloadDigest", m.payloadDigest),
    payloadSize: Number(m.payloadSize),
    sbomDigest: digestOf("sbomDigest", m.sbomDigest),
    reproDigest: digestOf("reproDigest", m.reproDigest),
    bundleType: m.bundleType,
    dependencies: m.dependencies,
    providedServices: m.providedServices,
    resources: m.resources,
    payloadKind: m.payloadKind,
    exports: m.exports,
    ...(m.sku === undefined ? {} : { sku: m.sku }),
  };
}
