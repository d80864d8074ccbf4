import assert from "node:assert/strict";
import { escapeJson, escapeLines, escapeText } from "./escape.ts";
import { keyValues, table } from "./text.ts";
import { renderDiff } from "./lifecycle.ts";

/** Any character the rule must never let through raw. */
const UNSAFE_RAW =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

Deno.test("escapeText() shows every control, bidi and separator character escaped", async (t) => {
  const table: [string, string, string][] = [
    ["newline", "x\npkgr: verified ok", "x\\npkgr: verified ok"],
    ["carriage return", "ok\rpkgr: verified ok", "ok\\rpkgr: verified ok"],
    ["tab", "a\tb", "a\\tb"],
    ["NUL", "a\0b", "a\\x00b"],
    [
      "ESC (CSI erase line)",
      "\x1b[2K\x1b[1Gpkgr: verified ok",
      "\\x1b[2K\\x1b[1Gpkgr: verified ok",
    ],
    ["OSC title", "\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"],
    ["DEL", "a\x7fb", "a\\x7fb"],
    ["C1 CSI U+009B", "\u009b31m", "\\x9b31m"],
    ["C1 NEL U+0085", "a\u0085b", "a\\x85b"],
    ["RLO U+202E", "txt.\u202egpj", "txt.\\u202egpj"],
    ["LRI … PDI", "\u2066x\u2069", "\\u2066x\\u2069"],
    ["ALM, LRM, RLM", "\u061c\u200e\u200f", "\\u061c\\u200e\\u200f"],
    ["line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"],
  ];
  for (const [name, input, shown] of table) {
    await t.step(name, () => {
      assert.equal(escapeText(input), shown);
      assert.doesNotMatch(escapeText(input), UNSAFE_RAW);
    });
  }
});

Deno.test("escapeText() leaves printable text, backslashes and non-Latin letters alone", () => {
  for (const s of ["notes@1.0.0", "C:\\path\\n", "ünïcödé → 日本語 🙂", "a b", ""]) {
    assert.equal(escapeText(s), s);
  }
});

Deno.test("escapeText() is idempotent (a value, then its line)", () => {
  const hostile = "x\n\x1b[31m\u009b\u202e\\x1b";
  assert.equal(escapeText(escapeText(hostile)), escapeText(hostile));
  assert.equal(escapeLines(escapeText(hostile)), escapeText(hostile));
});

Deno.test("escapeLines() keeps newlines and escapes everything else", () => {
  assert.equal(escapeLines("one\ntwo\r\x1b[K\tthree\n"), "one\ntwo\\r\\x1b[K\\tthree\n");
});

Deno.test("keyValues() and table() keep an untrusted value on its own row", () => {
  const kv = keyValues([["bundle", "x\npkgr: verified ok"], ["name", "notes"]]);
  assert.deepEqual(kv.split("\n"), ["bundle: x\\npkgr: verified ok", "name:   notes"]);
  const t = table(["app", "match"], [["a\nb", "\x1b[2J"], ["c", "d"]]);
  assert.deepEqual(t.split("\n"), ["app   match", "a\\nb  \\x1b[2J", "c     d"]);
});

Deno.test("renderDiff() escapes capability names", () => {
  const diff = {
    from: "1.0.0",
    to: "1.1.0",
    added: ["nexus.X\npkgr: verified ok"],
    removed: [],
    exportsAdded: [],
    exportsRemoved: [],
  };
  const lines = renderDiff(diff).split("\n");
  assert.deepEqual(lines, ["permissions:", "  + nexus.X\\npkgr: verified ok"]);
});

Deno.test("escapeJson() keeps every string exact and writes no unsafe character raw", () => {
  const value = {
    message: "x\npkgr: verified ok\x1b[2K\u009b31m\u202e\u2028\x7f\\x9b",
    list: ["\u0085", "plain"],
  };
  const json = escapeJson(JSON.stringify(value));
  assert.doesNotMatch(json, UNSAFE_RAW);
  assert.deepEqual(JSON.parse(json), value);
  assert.equal(json.split("\n").length, 1);
  assert.equal(escapeJson(JSON.stringify({ a: "notes@1.0.0" })), '{"a":"notes@1.0.0"}');
});
