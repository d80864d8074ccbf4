import assert from "node:assert/strict";
import { buildProgram } from "./program.ts";
import { outputRequest, rewriteHelp, similar } from "./usage.ts";

Deno.test("similar() finds the names a typo was close to, best first, nothing for a stranger", () => {
  assert.deepEqual(similar("instal", ["install", "inspect", "info"]), ["install"]);
  assert.deepEqual(similar("unistall", ["uninstall", "install"]), ["uninstall"]);
  assert.deepEqual(similar("lsit", ["list", "info"]), ["list"]);
  assert.deepEqual(similar("zzzzzz", ["list", "info", "install"]), []);
  assert.deepEqual(similar("x", ["a", "b"]), []);
});

Deno.test("rewriteHelp() turns `help <command…>` at any level into `<command…> --help`", async (t) => {
  const program = buildProgram();
  const cases: [string[], string[]][] = [
    [["help", "pkg", "install"], ["pkg", "install", "--help"]],
    [["pkg", "help", "trust", "add"], ["pkg", "trust", "add", "--help"]],
    [["--color", "never", "help", "pkg"], ["--color", "never", "pkg", "--help"]],
    [["help"], ["--help"]],
    // not a command: the line without `help`, so the parse says which word is unknown
    [["help", "pkg", "nope"], ["pkg", "nope"]],
    // `help` as an operand or an option's value is left alone
    [["pkg", "install", "help"], ["pkg", "install", "help"]],
    [["pkg", "history", "--limit", "help"], ["pkg", "history", "--limit", "help"]],
    [["complete", "--", "pkg", "help"], ["complete", "--", "pkg", "help"]],
  ];
  for (const [argv, expected] of cases) {
    await t.step(argv.join(" "), () => assert.deepEqual(rewriteHelp(program, argv), expected));
  }
});

Deno.test("outputRequest() reads the global output options of a line that did not parse", () => {
  assert.deepEqual(outputRequest(["pkg", "nope", "--json", "-q", "--color=never"]), {
    json: true,
    quiet: true,
    verbose: false,
    color: "never",
    markers: false,
  });
  assert.equal(outputRequest(["--color", "always", "x"]).color, "always");
  assert.equal(outputRequest(["--color", "sometimes"]).color, undefined);
  assert.equal(outputRequest(["complete", "--", "--json"]).json, false);
});
