/**
 * doctor's findings a person can act on, through the real CLI: each finding carries its app,
 * version, path and next step (the exact command), the human output groups them by app under a
 * summary, `--repair` lists what it did, the next steps run as given leave a clean root, and
 * `list` never shows an app `active` whose `current` link does not lead to its version.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copyFixture, nx } from "./helpers.ts";
import { cloneRoot, preparedRoot } from "./_roots.ts";

interface Finding {
  kind: string;
  app?: string;
  version?: string;
  path: string;
  repairable: boolean;
  hint?: string;
  action?: string;
}

let base: Promise<string> | undefined;
/** notes 1.0.0 then 1.1.0 (both retained) and textkit 1.0.0, cloned per test. */
async function freshRoot(): Promise<string> {
  base ??= preparedRoot([
    ["install", "notes-1.0.0"],
    ["upgrade", "notes-1.1.0"],
    ["install", "textkit-1.0.0"],
  ]);
  return await cloneRoot(await base);
}

async function report(root: string, repair = false) {
  const r = await nx(["pkg", "doctor", ...(repair ? ["--repair"] : []), "--json"], { root });
  const data = r.json?.code === "ok" ? r.json.data : r.json?.data?.details?.report;
  assert.ok(data, `no report: ${r.stdout}\n${r.stderr}`);
  return {
    code: r.json!.code as string,
    exit: r.code,
    hint: r.json?.data?.hint as string | undefined,
    findings: data.findings as Finding[],
    repaired: data.repaired as Finding[],
  };
}

/** Damage of several kinds, in two apps and outside them. */
async function damage(root: string): Promise<void> {
  const notes = join(root, "apps/notes");
  await Deno.writeTextFile(join(notes, "versions/1.1.0/payload.elf"), "changed\n", {
    append: true,
  });
  await Deno.writeTextFile(join(notes, "versions/1.1.0/extra.txt"), "planted\n");
  await Deno.remove(join(notes, "current"));
  await Deno.symlink("versions/1.0.0", join(notes, "current"));
  await Deno.chmod(join(root, "apps/textkit/data/1.0.0"), 0o757);
  await Deno.mkdir(join(root, "pkg/staging/tx-left"));
  await Deno.writeTextFile(join(root, "junk.txt"), "mine\n");
}

const byKind = (fs: Finding[], kind: string) => fs.filter((f) => f.kind === kind);

Deno.test("doctor: every finding names its app, version, path and the exact next step", async () => {
  const root = await freshRoot();
  await damage(root);
  const r = await report(root);
  assert.equal(r.code, "doctor.findings");
  assert.equal(r.exit, 3);
  for (const f of r.findings) assert.ok(f.hint, `${f.kind} ${f.path} has a next step`);

  const [mismatch] = byKind(r.findings, "current-mismatch");
  assert.deepEqual([mismatch.app, mismatch.version, mismatch.repairable], ["notes", "1.1.0", true]);
  assert.equal(mismatch.hint, "nx pkg doctor --repair");
  const [changed] = byKind(r.findings, "file-digest-mismatch");
  assert.deepEqual([changed.app, changed.version], ["notes", "1.1.0"]);
  assert.equal(changed.path, join(root, "apps/notes/versions/1.1.0/payload.elf"));
  assert.equal(changed.hint, "nx pkg install --reinstall <notes-1.1.0.nxb>");
  // Changed bytes in the same version: nx pkg repair cannot restore it, the bundle can.
  const [unexpected] = byKind(r.findings, "file-unexpected");
  assert.equal(unexpected.hint, "nx pkg install --reinstall <notes-1.1.0.nxb>");
  const [mode] = byKind(r.findings, "unsafe-mode");
  assert.deepEqual([mode.app, mode.version], ["textkit", "1.0.0"]);
  assert.match(mode.hint!, /^chmod u-s,g-s,o-w '.*apps\/textkit\/data\/1\.0\.0'/);
  assert.equal(byKind(r.findings, "staging-leftover")[0].hint, "nx pkg doctor --repair");
  assert.equal(byKind(r.findings, "stray-entry")[0].app, undefined);
  assert.match(r.hint!, /nx pkg doctor --repair/);
});

Deno.test("doctor: the human output groups the problems by app under one summary", async () => {
  const root = await freshRoot();
  await damage(root);
  const r = await nx(["pkg", "doctor"], { root });
  assert.equal(r.code, 3);
  const lines = r.stdout.trimEnd().split("\n");
  const heads = lines.filter((l) => !l.startsWith(" "));
  assert.deepEqual(heads, [
    "notes: 3 problems",
    "textkit: 1 problem",
    "outside the apps: 2 problems",
  ]);
  // Each finding: "<kind> [<version>]: <path>", what is wrong, "next: <step>", under its app.
  const notes = lines.slice(1, lines.indexOf("textkit: 1 problem"));
  assert.ok(notes.includes("  file-digest-mismatch 1.1.0: apps/notes/versions/1.1.0/payload.elf"));
  assert.ok(notes.includes("    next: nx pkg install --reinstall <notes-1.1.0.nxb>"));
  assert.equal(notes.filter((l) => l.startsWith("    next: ")).length, 3);
  assert.match(
    r.stderr,
    /^error: cannot vouch for .*: 6 problems: 4 in 2 apps, 2 outside the apps \[doctor\.findings\]$/m,
  );
  assert.match(r.stderr, /^hint: run `nx pkg doctor --repair` \(it fixes 2 of 6\)/m);
});

Deno.test("doctor --repair: lists each action taken, then what is left", async () => {
  const root = await freshRoot();
  await damage(root);
  const fixed = await report(root, true);
  assert.equal(fixed.code, "doctor.findings");
  assert.deepEqual(fixed.repaired.map((f) => f.action).sort(), [
    "relinked current of notes to 1.1.0",
    "removed leftover pkg/staging/tx-left (no link followed)",
  ]);
  assert.deepEqual(fixed.findings.map((f) => f.kind).sort(), [
    "file-digest-mismatch",
    "file-unexpected",
    "stray-entry",
    "unsafe-mode",
  ]);
  assert.ok(fixed.findings.every((f) => !f.repairable));

  const other = await freshRoot();
  await damage(other);
  const human = await nx(["pkg", "doctor", "--repair"], { root: other });
  const lines = human.stdout.split("\n");
  assert.deepEqual(lines.slice(0, 4), [
    "repaired 2 problems:",
    "  removed leftover pkg/staging/tx-left (no link followed)",
    "  relinked current of notes to 1.1.0",
    "left to fix:",
  ]);
  assert.match(human.stderr, /\(--repair fixed 2\) \[doctor\.findings\]/);
});

Deno.test("doctor: the next steps it names, run as given, leave a clean root", async () => {
  const root = await freshRoot();
  await damage(root);
  const bundle = await copyFixture("notes-1.1.0");
  for (let round = 0; round < 4; round++) {
    const r = await report(root);
    if (r.code === "ok") return;
    for (const step of new Set(r.findings.map((f) => f.hint!))) {
      if (step.startsWith("nx ")) {
        const args = step.split(" ").slice(1).map((a) => (a === "<notes-1.1.0.nxb>" ? bundle : a));
        const ran = await nx([...args, "--json"], { root });
        // doctor --repair fails while problems it cannot fix remain: it still did its part.
        const done: unknown[] = args[1] === "doctor" ? ["ok", "doctor.findings"] : ["ok"];
        assert.ok(done.includes(ran.json?.code), `${step}: ${ran.stdout}${ran.stderr}`);
      } else if (step.startsWith("chmod ")) {
        const [, bits, quoted] = /^chmod (\S+) '([^']+)'/.exec(step)!;
        assert.equal((await new Deno.Command("chmod", { args: [bits, quoted] }).output()).code, 0);
      } else if (step.startsWith("move it out of the root")) {
        for (const f of r.findings.filter((f) => f.hint === step)) await Deno.remove(f.path);
      } else assert.fail(`a step this test does not know: ${step}`);
    }
  }
  assert.fail("the root is still not clean after following every next step");
});

const BREAKS: [string, (app: string) => Promise<void>][] = [
  ["missing", (app) => Deno.remove(join(app, "current"))],
  ["pointing at a version that is not installed", async (app) => {
    await Deno.remove(join(app, "current"));
    await Deno.symlink("versions/9.9.9", join(app, "current"));
  }],
  ["pointing at another retained version", async (app) => {
    await Deno.remove(join(app, "current"));
    await Deno.symlink("versions/1.0.0", join(app, "current"));
  }],
  ["replaced by a file", async (app) => {
    await Deno.remove(join(app, "current"));
    await Deno.writeTextFile(join(app, "current"), "not a link\n");
  }],
  ["leading to a version directory that is gone", async (app) => {
    await Deno.remove(join(app, "versions/1.1.0"), { recursive: true });
  }],
];

for (const [name, breakIt] of BREAKS) {
  Deno.test(`list: an app whose current link is ${name} is broken, not active`, async () => {
    const root = await freshRoot();
    await breakIt(join(root, "apps/notes"));
    const r = await nx(["pkg", "list", "--json"], { root });
    assert.equal(r.json?.code, "ok");
    const apps = r.json!.data.apps as { id: string; state: string; problem?: string }[];
    const notes = apps.find((a) => a.id === "notes")!;
    assert.equal(notes.state, "broken");
    assert.ok(notes.problem);
    assert.equal(apps.find((a) => a.id === "textkit")!.state, "active", "the others are untouched");

    const human = await nx(["pkg", "list"], { root });
    assert.match(human.stdout, /^notes +1\.1\.0 +broken /m);
    assert.match(human.stdout, /^broken: notes: .*; run `nx pkg doctor` for the next step$/m);
  });
}

Deno.test("list: doctor --repair relinks a broken current and list shows it active again", async () => {
  const root = await freshRoot();
  await Deno.remove(join(root, "apps/notes/current"));
  const fixed = await report(root, true);
  assert.equal(fixed.code, "ok");
  const r = await nx(["pkg", "list", "--json"], { root });
  const apps = r.json!.data.apps as { id: string; state: string; problem?: string }[];
  assert.deepEqual(apps.map((a) => [a.id, a.state, a.problem]), [
    ["notes", "active", undefined],
    ["textkit", "active", undefined],
  ]);
});
