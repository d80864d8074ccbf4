import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { Plan } from "../plan/mod.ts";
import { Journal, JOURNAL_MAX_BYTES, type JournalState, readJournal } from "./journal.ts";

/** A small valid plan: three steps, two post-commit steps. */
const PLAN: Plan = {
  txid: "mbq3x1z0-0a1b2c3d",
  op: "rollback",
  appId: "notes",
  fromVersion: "1.1.0",
  toVersion: "1.0.0",
  steps: [
    { kind: "switch-current", to: "1.0.0", from: "1.1.0" },
    { kind: "commit-registry" },
    { kind: "create-app-dir" },
  ],
  post: [{ kind: "notify-registry" }, { kind: "purge-staging" }],
};
const HEADER = JSON.stringify({ format: "nx-journal", version: 1, plan: PLAN });

async function journalOf(text: string | Uint8Array): Promise<string> {
  const path = join(await Deno.makeTempDir({ prefix: "nx-journal-" }), "journal");
  if (typeof text === "string") await Deno.writeTextFile(path, text);
  else await Deno.writeFile(path, text);
  return path;
}

/** readJournal of `lines` (each newline-terminated) plus an optional torn tail. */
async function read(lines: string[], tail = ""): Promise<JournalState | undefined> {
  return await readJournal(await journalOf(lines.map((l) => l + "\n").join("") + tail));
}

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
}

Deno.test("readJournal() reads back what Journal writes, line by line", async () => {
  const path = join(await Deno.makeTempDir({ prefix: "nx-journal-" }), "journal");
  const journal = await Journal.create(path, PLAN);
  for (const entry of [{ begin: 0 }, { done: 0 }, { begin: 1 }]) await journal.append(entry);
  journal.close();
  assert.deepEqual(await readJournal(path), {
    plan: PLAN,
    begun: [0, 1],
    done: [0],
    committed: false,
    postDone: [],
  });
});

Deno.test("readJournal() accepts every prefix the executor can leave", async (t) => {
  const all = ['{"begin":0}', '{"done":0}', '{"begin":1}', '{"done":1}', '{"begin":2}'];
  const finished = [...all, '{"done":2}', '{"committed":true}', '{"post":0}', '{"post":1}'];
  for (let n = 0; n <= finished.length; n++) {
    await t.step(`${n} entries`, async () => {
      const state = await read([HEADER, ...finished.slice(0, n)]);
      assert.equal(state?.committed, n >= 7);
    });
  }
  await t.step("a post step that failed leaves a gap", async () => {
    const state = await read([HEADER, ...finished.slice(0, 7), '{"post":1}']);
    assert.deepEqual(state?.postDone, [1]);
  });
});

Deno.test("readJournal() ignores a torn last line, and a torn header means nothing began", async (t) => {
  await t.step("no journal", async () => {
    assert.equal(await readJournal(join(await Deno.makeTempDir(), "journal")), undefined);
  });
  await t.step("empty file", async () => assert.equal(await read([]), undefined));
  await t.step("torn header", async () => {
    assert.equal(await read([], HEADER.slice(0, 40)), undefined);
  });
  await t.step("torn entry", async () => {
    const state = await read([HEADER, '{"begin":0}'], '{"do');
    assert.deepEqual(state?.done, []);
    assert.deepEqual(state?.begun, [0]);
  });
  await t.step("complete entry without its newline", async () => {
    // The append never returned, so the step it announces never started.
    assert.deepEqual((await read([HEADER], '{"begin":0}'))?.begun, []);
  });
  await t.step("torn multi-byte character", async () => {
    const bytes = new TextEncoder().encode(`${HEADER}\n{"begin":0}\n{"x":"é`);
    assert.deepEqual((await readJournal(await journalOf(bytes.slice(0, -1))))?.begun, [0]);
  });
});

Deno.test("readJournal() refuses anything the executor would not write as journal.corrupt", async (t) => {
  const plan = (edit: (p: Record<string, unknown>) => void) => {
    const p = structuredClone(PLAN) as unknown as Record<string, unknown>;
    edit(p);
    return JSON.stringify({ format: "nx-journal", version: 1, plan: p });
  };
  const cases: [string, string[]][] = [
    ["torn middle line", [HEADER, '{"begin":0}', '{"do', '{"begin":1}']],
    ["empty middle line", [HEADER, "", '{"begin":0}']],
    ["bad header", ['{"format":"nx-journal"}']],
    ["other format", ['{"format":"tar","version":1,"plan":{}}']],
    ["unknown version", [HEADER.replace('"version":1', '"version":2')]],
    ["extra header field", [HEADER.replace('"version":1', '"version":1,"x":0')]],
    ["txid traversal", [plan((p) => (p.txid = "../../../x")), '{"begin":0}']],
    ["appId traversal", [plan((p) => (p.appId = "../x"))]],
    ["unknown step kind", [plan((p) => (p.steps = [{ kind: "frobnicate" }]))]],
    ["missing field", [plan((p) => (p.steps = [{ kind: "switch-current", to: "1.0.0" }]))]],
    ["missing plan field", [plan((p) => delete p.post)]],
    ["begin out of range", [HEADER, '{"begin":3}']],
    ["begin skipping a step", [HEADER, '{"begin":1}']],
    ["begin twice", [HEADER, '{"begin":0}', '{"begin":0}']],
    ["begin before the last is done", [HEADER, '{"begin":0}', '{"begin":1}']],
    ["done without begin", [HEADER, '{"done":0}']],
    ["done of another step", [HEADER, '{"begin":0}', '{"done":1}']],
    ["negative index", [HEADER, '{"begin":-1}']],
    ["fractional index", [HEADER, '{"begin":0.5}']],
    ["committed early", [HEADER, '{"begin":0}', '{"done":0}', '{"committed":true}']],
    ["post before commit", [HEADER, '{"post":0}']],
    ["committed false", [HEADER, '{"committed":false}']],
    ["unknown entry", [HEADER, '{"rm":"/"}']],
    ["entry with two keys", [HEADER, '{"begin":0,"done":0}']],
    ["entry that is not an object", [HEADER, "[0]"]],
  ];
  const done = ['{"begin":0}', '{"done":0}', '{"begin":1}', '{"done":1}', '{"begin":2}'];
  const committed = [HEADER, ...done, '{"done":2}', '{"committed":true}'];
  cases.push(
    ["post out of range", [...committed, '{"post":2}']],
    ["post repeated", [...committed, '{"post":0}', '{"post":0}']],
    ["post out of order", [...committed, '{"post":1}', '{"post":0}']],
    ["begin after commit", [...committed, '{"begin":0}']],
    ["committed twice", [...committed, '{"committed":true}']],
  );
  for (const [name, lines] of cases) {
    await t.step(
      name,
      async () => assert.equal(await codeOf(() => read(lines)), "journal.corrupt"),
    );
  }
  await t.step("invalid UTF-8 in a complete line", async () => {
    // In a free string, where a lenient decoder's U+FFFD would pass every other check.
    const bytes = new TextEncoder().encode(`${plan((p) => (p.source = "/tmp/A.nxb"))}\n`);
    bytes[bytes.indexOf(0x41)] = 0xff;
    assert.equal(await codeOf(async () => readJournal(await journalOf(bytes))), "journal.corrupt");
  });
  await t.step("a directory", async () => {
    const dir = await Deno.makeTempDir();
    assert.equal(await codeOf(() => readJournal(dir)), "journal.corrupt");
  });
  await t.step("larger than the cap, refused unread", async () => {
    const path = await journalOf(`${HEADER}\n`);
    await Deno.truncate(path, JOURNAL_MAX_BYTES + 1); // sparse: no 64 MiB written
    assert.equal(await codeOf(() => readJournal(path)), "journal.corrupt");
  });
});
