import assert from "node:assert/strict";
import { compareVersions, isStrictSemver, VERSION_MAX_LENGTH, versionProblem } from "./mod.ts";

Deno.test("isStrictSemver() takes strict SemVer 2.0 with prereleases", () => {
  for (const v of ["0.0.0", "1.0.0", "1.2.3-rc.1", "1.0.0-alpha-1.x.7", "10.20.30"]) {
    assert.equal(isStrictSemver(v), true, v);
    assert.equal(versionProblem(v), undefined, v);
  }
});

Deno.test("isStrictSemver() refuses loose and malformed forms", () => {
  for (const v of ["v1.0.0", "=1.0.0", " 1.0.0", "1.0", "01.0.0", "1.0.0-01", "1.0.0+", "", "x"]) {
    assert.equal(isStrictSemver(v), false, v);
    assert.match(versionProblem(v) ?? "", /strict SemVer/, v);
  }
  assert.equal(isStrictSemver(`1.0.0-${"a".repeat(VERSION_MAX_LENGTH)}`), false);
});

Deno.test("versionProblem() names build metadata, which nx refuses", () => {
  for (const v of ["1.0.0+build.5", "1.0.0-rc.1+sha.abc", "1.0.0+20240101"]) {
    assert.equal(isStrictSemver(v), false, v);
    assert.match(versionProblem(v) ?? "", /build metadata `\+/, v);
  }
  // Equal precedence is why: the two would be two directories with no order between them.
  assert.equal(compareVersions("1.0.0+a", "1.0.0+b"), 0);
  // A loose form with build metadata is called what it is first.
  assert.match(versionProblem("v1.0.0+b") ?? "", /strict SemVer/);
});
