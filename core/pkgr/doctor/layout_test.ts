import assert from "node:assert/strict";
import {
  currentVersionOf,
  isCurrentTemp,
  isIconName,
  isIconTemp,
  isPkgTemp,
  isQuarantinedJournal,
  PKG_ENTRIES,
  unsafeBits,
  wrongType,
} from "./layout.ts";

Deno.test("currentVersionOf() takes only a relative versions/<v>", async (t) => {
  const table: [string, string | undefined][] = [
    ["versions/1.0.0", "1.0.0"],
    ["versions/1.0.0-rc.1", "1.0.0-rc.1"],
    ["/etc", undefined],
    ["/abs/versions/1.0.0", undefined],
    ["../versions/1.0.0", undefined],
    ["versions/..", undefined],
    ["versions/.", undefined],
    ["versions/", undefined],
    ["versions/1.0.0/sub", undefined],
    ["versions/1.0.0/", undefined],
    ["./versions/1.0.0", undefined],
    ["", undefined],
  ];
  for (const [target, want] of table) {
    await t.step(JSON.stringify(target), () => assert.equal(currentVersionOf(target), want));
  }
});

Deno.test("tempOf() helpers recognise only nx's own temp names", async (t) => {
  const table: [(n: string) => boolean, string, boolean][] = [
    [isPkgTemp, ".registry.stamp.123.4.tmp", true],
    [isPkgTemp, ".policy.toml.1.1.tmp", true],
    [isPkgTemp, ".root.json.99.12.tmp", true],
    [isPkgTemp, ".registry.db.1.1.tmp", false],
    [isPkgTemp, ".registry.stamp.x.4.tmp", false],
    [isPkgTemp, "registry.stamp.1.1.tmp", false],
    [isPkgTemp, ".notes.1.1.tmp", false],
    [isIconTemp, ".icon.svg.12.3.tmp", true],
    [isIconTemp, ".other.svg.12.3.tmp", false],
    [isIconName, "icon.svg", true],
    [isIconName, "icon", true],
    [isIconName, "icon.svg.bak", false],
    [isCurrentTemp, "current.doctor.tmp", true],
    [isCurrentTemp, "current.tmp", false],
    [isCurrentTemp, "current.a/b.tmp", false],
    [isQuarantinedJournal, "journal.corrupt.1700000000000", true],
    [isQuarantinedJournal, "journal.corrupt.", false],
    [isQuarantinedJournal, "journal.corrupt.x", false],
  ];
  for (const [fn, name, want] of table) {
    await t.step(`${fn.name} ${name}`, () => assert.equal(fn(name), want));
  }
});

Deno.test("unsafeBits() names set-id and world-writable bits", () => {
  assert.deepEqual(unsafeBits(0o755), []);
  assert.deepEqual(unsafeBits(0o444), []);
  assert.deepEqual(unsafeBits(0o4755), ["setuid"]);
  assert.deepEqual(unsafeBits(0o2755), ["setgid"]);
  assert.deepEqual(unsafeBits(0o777), ["world-writable"]);
  assert.deepEqual(unsafeBits(0o6777), ["setuid", "setgid", "world-writable"]);
  assert.deepEqual(unsafeBits(0o1777), ["world-writable"]);
});

Deno.test("wrongType() maps an entry type to its finding kind", () => {
  assert.equal(wrongType("symlink"), "unsafe-link");
  for (const k of ["fifo", "socket", "char", "block"] as const) {
    assert.equal(wrongType(k), "special-file");
  }
  assert.equal(wrongType("file"), "stray-entry");
  assert.equal(wrongType("dir"), "stray-entry");
});

Deno.test("PKG_ENTRIES removes links only where nx recreates the state itself", () => {
  const removable = Object.entries(PKG_ENTRIES).filter(([, e]) => e.removableLink).map(([n]) => n)
    .sort();
  assert.deepEqual(removable, [
    "cache",
    "lock",
    "registry.stamp",
    "root.json",
    "staging",
    "uploads",
  ]);
});
