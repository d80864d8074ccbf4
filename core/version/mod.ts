/** SemVer 2.0 rules for nx: strict parsing, comparison and ranges (npm `semver`). */
import semver from "semver";

/** Strict SemVer 2.0: no leading `v` or `=`, no loose forms, at most 256 characters. */
export function isStrictSemver(text: string): boolean {
  return text.length <= 256 && semver.valid(text, { loose: false }) === text;
}

export function isValidRange(text: string): boolean {
  return text.length <= 256 && semver.validRange(text, { loose: false }) !== null;
}

/** -1, 0 or 1; both arguments must be strict SemVer. */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  return semver.compare(a, b);
}

export function satisfies(version: string, range: string): boolean {
  return semver.satisfies(version, range, { includePrerelease: true });
}
export { NX_VERSION } from "./nx_version.ts";
