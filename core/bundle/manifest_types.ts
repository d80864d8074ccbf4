/** The decoded `BundleManifest` (see docs/format.md and fixtures/schema/manifest.capnp). */

export const BUNDLE_TYPES = [
  "app",
  "service",
  "library",
  "driver",
  "framework",
  "shell",
  "greeter",
  "settings",
  "filemanager",
  "ime",
] as const;
export type BundleType = typeof BUNDLE_TYPES[number];

export const PAYLOAD_KINDS = ["elf", "uiProgram"] as const;
export type PayloadKind = typeof PAYLOAD_KINDS[number];

export const RESOURCE_KINDS = ["icon", "cursor", "font", "wallpaper", "sound", "data"] as const;
export type ResourceKind = typeof RESOURCE_KINDS[number];

export interface Dependency {
  name: string;
  versionConstraint: string;
}

export interface Resource {
  path: string;
  kind: ResourceKind;
}

export interface ExportDecl {
  ability: string;
  permission: string;
}

/**
 * Raw decoded manifest. Pointer fields are `undefined` when the pointer is null (so validation
 * can say "missing required field"); lists decode to `[]` when null. Data fields keep bytes.
 */
export interface Manifest {
  schemaVersion: number;
  name?: string;
  semver?: string;
  abilities: string[];
  capabilities: string[];
  minSdk?: string;
  publisher?: Uint8Array;
  signature?: Uint8Array;
  payloadDigest: Uint8Array;
  payloadSize: bigint;
  sbomDigest: Uint8Array;
  reproDigest: Uint8Array;
  bundleType: BundleType;
  dependencies: Dependency[];
  providedServices: string[];
  resources: Resource[];
  payloadKind: PayloadKind;
  exports: ExportDecl[];
  /** nx extension, ordinal 18 (pointer 14): store SKU of a paid app; undefined when absent. */
  sku?: string;
}
