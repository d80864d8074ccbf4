/** The `.nxb` directory layout, its size caps and its path rules (docs/format.md). */

export const MANIFEST_FILE = "manifest.nxb";
export const ELF_PAYLOAD_FILE = "payload.elf";
export const NXIR_PAYLOAD_FILE = "payload.nxir";
export const SBOM_FILE = "meta/sbom.json";
export const REPRO_FILE = "meta/repro.env.json";
/** nx: the signed file index and its signature. */
export const INDEX_FILE = "meta/index.json";
export const INDEX_SIG_FILE = "meta/index.sig";
/** nx: the migration chain `{from, to, script}` entries. */
export const MIGRATIONS_FILE = "meta/migrations.json";
export const ASSETS_DIR = "assets";
export const MIGRATIONS_DIR = "migrations";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Upstream caps, plus nx's own for files upstream does not know. */
export const CAPS = {
  manifest: 64 * KiB,
  payload: 16 * MiB,
  sbom: 512 * KiB,
  repro: 64 * KiB,
  index: 1 * MiB,
  indexSig: 4 * KiB,
  migrations: 64 * KiB,
  otherFile: 16 * MiB,
  total: 64 * MiB,
  files: 4096,
  depth: 16,
  pathBytes: 255,
} as const;

/** The size cap for the file at a bundle-relative path. */
export function capFor(path: string): number {
  switch (path) {
    case MANIFEST_FILE:
      return CAPS.manifest;
    case ELF_PAYLOAD_FILE:
    case NXIR_PAYLOAD_FILE:
      return CAPS.payload;
    case SBOM_FILE:
      return CAPS.sbom;
    case REPRO_FILE:
      return CAPS.repro;
    case INDEX_FILE:
      return CAPS.index;
    case INDEX_SIG_FILE:
      return CAPS.indexSig;
    case MIGRATIONS_FILE:
      return CAPS.migrations;
    default:
      return CAPS.otherFile;
  }
}

const KEPT_IN_MEMORY = new Set([
  MANIFEST_FILE,
  SBOM_FILE,
  REPRO_FILE,
  INDEX_FILE,
  INDEX_SIG_FILE,
  MIGRATIONS_FILE,
]);

/** Files whose bytes verification parses, held in memory (each small, capped above). */
export function isKeptInMemory(path: string): boolean {
  return KEPT_IN_MEMORY.has(path);
}

export function payloadFileFor(kind: "elf" | "uiProgram"): string {
  return kind === "elf" ? ELF_PAYLOAD_FILE : NXIR_PAYLOAD_FILE;
}

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._+@-]*$/;

/**
 * trust: a bundle-relative path is a `/`-joined list of plain segments: no empty, `.` or `..`
 * segment, no leading `/`, no backslash or control characters, at most CAPS.depth deep.
 */
export function isSafeRelativePath(path: string): boolean {
  if (path.length === 0 || new TextEncoder().encode(path).length > CAPS.pathBytes) return false;
  const segments = path.split("/");
  return segments.length <= CAPS.depth &&
    segments.every((s) => s !== "." && s !== ".." && SEGMENT.test(s));
}
