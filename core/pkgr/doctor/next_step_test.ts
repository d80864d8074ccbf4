import assert from "node:assert/strict";
import type { Finding, FindingKind } from "./types.ts";
import { annotate, nextStep, REPAIR, summarize, versionOfPath } from "./next_step.ts";

const ROOT = "/r";
const ctx = {
  root: ROOT,
  uid: 1000,
  activeOf: (app: string) => (app === "notes" ? "1.1.0" : undefined),
};

const f = (kind: FindingKind, path: string, extra: Partial<Finding> = {}): Finding => ({
  kind,
  path,
  message: "m",
  repairable: false,
  ...extra,
});

Deno.test("versionOfPath() names the version of a version tree or data directory", () => {
  assert.equal(versionOfPath(ROOT, "/r/apps/notes/versions/1.0.0/meta/index.json"), "1.0.0");
  assert.equal(versionOfPath(ROOT, "/r/apps/notes/data/1.1.0"), "1.1.0");
  assert.equal(versionOfPath(ROOT, "/r/apps/notes/current"), undefined);
  assert.equal(versionOfPath(ROOT, "/r/pkg/staging/tx"), undefined);
});

Deno.test("annotate() sets the version and a next step on every finding", () => {
  const [mismatch, file, stray] = annotate([
    f("current-mismatch", "/r/apps/notes/current", { app: "notes", repairable: true }),
    f("file-digest-mismatch", "/r/apps/notes/versions/1.1.0/payload.elf", { app: "notes" }),
    f("stray-entry", "/r/junk"),
  ], ctx);
  assert.equal(mismatch.version, "1.1.0", "current-mismatch is about the registry's version");
  assert.equal(mismatch.hint, REPAIR);
  assert.equal(file.version, "1.1.0");
  assert.equal(stray.version, undefined);
  assert.ok(stray.hint);
});

Deno.test("nextStep() names the command that fixes each kind", async (t) => {
  const V = "/r/apps/notes/versions";
  const rows: [string, Finding, RegExp][] = [
    [
      "anything repairable",
      f("data-orphan", "/r/x", { repairable: true }),
      /^nx pkg doctor --repair$/,
    ],
    [
      "an unexpected file in the active version",
      f("file-unexpected", `${V}/1.1.0/x`, { app: "notes", version: "1.1.0" }),
      /^nx pkg repair notes$/,
    ],
    [
      "a hard link in the active version",
      f("hard-link", `${V}/1.1.0/x`, { app: "notes", version: "1.1.0" }),
      /^nx pkg repair notes$/,
    ],
    [
      "changed bytes in the active version (no copy to restore from)",
      f("file-digest-mismatch", `${V}/1.1.0/x`, { app: "notes", version: "1.1.0" }),
      /^nx pkg install --reinstall <notes-1\.1\.0\.nxb>$/,
    ],
    [
      "a missing file of an older retained version",
      f("file-missing", `${V}/1.0.0/x`, { app: "notes", version: "1.0.0" }),
      /nx pkg rollback notes --to 1\.0\.0.*nx pkg install --reinstall <notes-1\.0\.0\.nxb>/,
    ],
    [
      "a world-writable entry",
      f("unsafe-mode", "/r/apps/notes"),
      /^chmod u-s,g-s,o-w '\/r\/apps\/notes'/,
    ],
    ["a foreign owner", f("foreign-owner", "/r/x"), /chown 1000 '\/r\/x'/],
    ["a stray", f("stray-entry", "/r/junk"), /move it out of the root/],
    [
      "a registered app without a directory",
      f("app-dir-missing", "/r/apps/notes", { app: "notes" }),
      /^nx pkg uninstall notes/,
    ],
    [
      "missing data of the active version",
      f("data-missing", "/r/apps/notes/data/1.1.0", { app: "notes", version: "1.1.0" }),
      /^nx pkg clear-data notes/,
    ],
  ];
  for (const [name, finding, want] of rows) {
    await t.step(name, () => assert.match(nextStep(finding, ctx), want));
  }
});

Deno.test("nextStep() quotes a path for the shell", () => {
  assert.match(nextStep(f("unsafe-mode", "/r/it's"), ctx), /'\/r\/it'\\''s'/);
});

Deno.test("summarize() counts problems by app and outside the apps", () => {
  const a = f("stray-entry", "/r/a", { app: "notes" });
  const b = f("stray-entry", "/r/b", { app: "textkit" });
  const o = f("stray-entry", "/r/junk");
  assert.equal(summarize([a]), "1 problem in 1 app");
  assert.equal(summarize([a, a, b]), "3 problems in 2 apps");
  assert.equal(summarize([o]), "1 problem outside the apps");
  assert.equal(summarize([a, o, o]), "3 problems: 1 in 1 app, 2 outside the apps");
});

Deno.test("annotate(): an unexpected file beside changed bytes needs the bundle, not nx pkg repair", () => {
  const V = "/r/apps/notes/versions/1.1.0";
  const [unexpected] = annotate([
    f("file-unexpected", `${V}/extra`, { app: "notes" }),
    f("file-digest-mismatch", `${V}/payload.elf`, { app: "notes" }),
  ], ctx);
  assert.equal(unexpected.hint, "nx pkg install --reinstall <notes-1.1.0.nxb>");
  const [alone] = annotate([f("file-unexpected", `${V}/extra`, { app: "notes" })], ctx);
  assert.equal(alone.hint, "nx pkg repair notes");
});
