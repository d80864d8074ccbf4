/**
 * SemVer 2.0 rules for nx: strict parsing, comparison and ranges (npm `semver`). Only the four
 * functions nx uses are imported, not `semver`'s index, which loads every module of the package
 * (89 file opens instead of 174 from source; less code to evaluate in the bundle).
 */
import compare from "semver/functions/compare.js";
import parse from "semver/functions/parse.js";
import semverSatisfies from "semver/functions/satisfies.js";
import validRange from "semver/ranges/valid.js";

/** The longest version text nx reads. */
export const VERSION_MAX_LENGTH = 256;

/**
 * Why `text` is not a version nx accepts, or undefined when it is one. nx takes strict SemVer
 * 2.0 (no leading `v` or `=`, no loose forms) WITHOUT build metadata: a version names the
 * directories `versions/<v>` and `data/<v>`, and `1.0.0+a` and `1.0.0+b` have the same precedence,
 * so two builds would be two directories that no ordering tells apart (docs/format.md).
 */
export function versionProblem(text: string): string | undefined {
  if (text.length > VERSION_MAX_LENGTH) return `is longer than ${VERSION_MAX_LENGTH} characters`;
  const parsed = parse(text, { loose: false });
  const plus = text.indexOf("+");
  // semver.parse also takes `v1.0.0`, `=1.0.0` and surrounding blanks: the text must BE the version.
  if (parsed === null || (plus < 0 ? text : text.slice(0, plus)) !== parsed.version) {
    return "must be strict SemVer 2.0 (MAJOR.MINOR.PATCH[-PRERELEASE])";
  }
  if (plus >= 0) {
    return `carries build metadata \`+${parsed.build.join(".")}\`, which nx does not accept ` +
      "(a version names directories; builds of equal precedence would collide)";
  }
  return undefined;
}

/** Strict SemVer 2.0 without build metadata, at most 256 characters ({@link versionProblem}). */
export function isStrictSemver(text: string): boolean {
  return versionProblem(text) === undefined;
}

export function isValidRange(text: string): boolean {
  return text.length <= 256 && validRange(text, { loose: false }) !== null;
}

/** -1, 0 or 1; both arguments must be strict SemVer. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return compare(a, b);
}

export function satisfies(version: string, range: string): boolean {
  return semverSatisfies(version, range, { includePrerelease: true });
}
export { NX_VERSION } from "./nx_version.ts";
