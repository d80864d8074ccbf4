/**
 * `manifest.toml`, the authoring input of `nx pkg pack` (upstream `nxb-pack --toml` keys, plus
 * nx's `sku` and `[[migrations]]`). Unknown keys are ignored, as upstream does.
 */
import { parse as parseToml } from "smol-toml";
import { NxError } from "../errors.ts";
import { isHex } from "../bytes/mod.ts";
import {
  BUNDLE_TYPES,
  type BundleType,
  type Dependency,
  type ExportDecl,
  type PayloadKind,
  type Resource,
  RESOURCE_KINDS,
  type ResourceKind,
} from "../bundle/mod.ts";
import type { MigrationStep } from "../bundle/mod.ts";

export interface PackSpec {
  name: string;
  version: string;
  minSdk: string;
  abilities: string[];
  capabilities: string[];
  publisher?: string;
  sig?: string;
  payloadKind: PayloadKind;
  bundleType: BundleType;
  dependencies: Dependency[];
  provides: string[];
  resources: Resource[];
  exports: ExportDecl[];
  sku?: string;
  migrations: MigrationStep[];
}

function missing(field: string): never {
  throw new NxError("pack.missing_field", `missing required field \`${field}\``, {
    details: { field },
  });
}

function invalid(field: string, reason: string): never {
  throw new NxError("pack.invalid_field", `invalid field \`${field}\`: ${reason}`, {
    details: { field, reason },
  });
}

type Table = Record<string, unknown>;

function str(t: Table, key: string, required: true): string;
function str(t: Table, key: string, required: false): string | undefined;
function str(t: Table, key: string, required: boolean): string | undefined {
  const v = t[key];
  if (v === undefined) return required ? missing(key) : undefined;
  if (typeof v !== "string") invalid(key, "must be a string");
  return v;
}

function strList(t: Table, key: string): string[] {
  const v = t[key] ?? [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    invalid(key, "must be an array of strings");
  }
  return v as string[];
}

function tableList(t: Table, key: string): Table[] {
  const v = t[key] ?? [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "object" || x === null || Array.isArray(x))) {
    invalid(key, "must be an array of tables");
  }
  return v as Table[];
}

function parseDependency(text: string): Dependency {
  const at = text.indexOf("@");
  if (at === 0) invalid("dependencies", `\`${text}\` has no name`);
  return at < 0
    ? { name: text.trim(), versionConstraint: "*" }
    : { name: text.slice(0, at).trim(), versionConstraint: text.slice(at + 1).trim() };
}

function parseResource(text: string): Resource {
  const colon = text.indexOf(":");
  const kind = text.slice(0, colon) as ResourceKind;
  if (colon < 0 || !RESOURCE_KINDS.includes(kind)) {
    invalid("resources", `\`${text}\` must be "<${RESOURCE_KINDS.join("|")}>:<path>"`);
  }
  return { kind, path: text.slice(colon + 1) };
}

const PAYLOAD_KIND_KEYS: Record<string, PayloadKind> = { "elf": "elf", "ui-program": "uiProgram" };

/**
 * The largest manifest.toml nx parses. Real ones are a few hundred bytes; the manifest.nxb they
 * become is capped at 64 KiB too (core/bundle/layout.ts CAPS).
 */
export const MANIFEST_TOML_MAX_BYTES = 64 * 1024;

function tooLarge(): never {
  throw new NxError(
    "pack.input_too_large",
    `cannot read manifest.toml: it is larger than ${MANIFEST_TOML_MAX_BYTES} bytes`,
    { details: { file: "manifest.toml", max: MANIFEST_TOML_MAX_BYTES } },
  );
}

/** The text of manifest.toml: size-checked first, then strict UTF-8 (no replacement characters). */
function manifestText(input: string | Uint8Array): string {
  if (typeof input === "string") {
    // UTF-8 takes at least one byte per UTF-16 unit: only a short enough text needs encoding.
    if (input.length > MANIFEST_TOML_MAX_BYTES) tooLarge();
    if (new TextEncoder().encode(input).length > MANIFEST_TOML_MAX_BYTES) tooLarge();
    return input;
  }
  if (input.length > MANIFEST_TOML_MAX_BYTES) tooLarge();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch {
    throw new NxError("pack.invalid_field", "cannot parse manifest.toml: it is not UTF-8");
  }
}

/** Parses manifest.toml (its bytes, or its text); over {@link MANIFEST_TOML_MAX_BYTES} it is refused unparsed. */
export function parseManifestToml(input: string | Uint8Array): PackSpec {
  const text = manifestText(input);
  let t: Table;
  try {
    t = parseToml(text) as Table;
  } catch (e) {
    throw new NxError(
      "pack.invalid_field",
      `cannot parse manifest.toml: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const payloadKindText = str(t, "payload_kind", false) ?? "elf";
  const payloadKind = PAYLOAD_KIND_KEYS[payloadKindText];
  if (!payloadKind) invalid("payload_kind", "must be `elf` or `ui-program`");
  const bundleType = (str(t, "bundle_type", false) ?? "app") as BundleType;
  if (!BUNDLE_TYPES.includes(bundleType)) {
    invalid("bundle_type", `must be one of ${BUNDLE_TYPES.join(", ")}`);
  }
  const publisher = str(t, "publisher", false);
  if (publisher !== undefined && !isHex(publisher, 16)) {
    invalid("publisher", "must be 32 hex characters");
  }
  const sig = str(t, "sig", false);
  if (sig !== undefined && !isHex(sig, 64)) invalid("sig", "must be 128 hex characters");
  const exports = tableList(t, "exports").map((e) => {
    if (typeof e.ability !== "string" || typeof e.permission !== "string") {
      invalid("exports", "entries need string `ability` and `permission`");
    }
    return { ability: e.ability, permission: e.permission };
  });
  const migrations = tableList(t, "migrations").map((m) => {
    if (typeof m.from !== "string" || typeof m.to !== "string" || typeof m.script !== "string") {
      invalid("migrations", "entries need string `from`, `to` and `script`");
    }
    return { from: m.from, to: m.to, script: m.script };
  });
  const name = str(t, "name", true).trim();
  const version = str(t, "version", true);
  const minSdk = str(t, "min_sdk", true);
  return {
    name,
    version,
    minSdk,
    abilities: strList(t, "abilities"),
    capabilities: strList(t, "caps"),
    publisher,
    sig,
    payloadKind,
    bundleType,
    dependencies: strList(t, "dependencies").map(parseDependency),
    provides: strList(t, "provides"),
    resources: strList(t, "resources").map(parseResource),
    exports,
    sku: str(t, "sku", false),
    migrations,
  };
}
