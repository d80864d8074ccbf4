import assert from "node:assert/strict";
import { decideOutput, type OutputRequest } from "./output.ts";

Deno.test("decideOutput() colours and draws progress as --color, NO_COLOR, TERM and -q say", async (t) => {
  const cases: [
    OutputRequest,
    Record<string, string>,
    boolean,
    { color: boolean; tty: boolean },
  ][] = [
    [{}, {}, true, { color: true, tty: true }],
    [{}, {}, false, { color: false, tty: false }],
    [{}, { NO_COLOR: "1" }, true, { color: false, tty: true }],
    [{}, { NO_COLOR: "" }, true, { color: true, tty: true }],
    [{}, { TERM: "dumb" }, true, { color: false, tty: false }],
    [{ color: "always" }, { TERM: "dumb", NO_COLOR: "1" }, false, { color: true, tty: false }],
    [{ color: "never" }, {}, true, { color: false, tty: true }],
    [{ color: "auto" }, { TERM: "xterm-256color" }, true, { color: true, tty: true }],
    [{ quiet: true }, {}, true, { color: true, tty: false }],
  ];
  for (const [request, env, terminal, expected] of cases) {
    await t.step(`${JSON.stringify(request)} ${JSON.stringify(env)} tty=${terminal}`, () => {
      const o = decideOutput(request, (n) => env[n], terminal);
      assert.deepEqual({ color: o.color, tty: o.tty }, expected);
    });
  }
});

Deno.test("decideOutput() never is quiet and verbose at once; markers from the flag or NX_MARKERS=1", () => {
  assert.equal(decideOutput({ quiet: true, verbose: true }, () => undefined, false).verbose, false);
  assert.equal(decideOutput({ verbose: true }, () => undefined, false).verbose, true);
  assert.equal(
    decideOutput({}, (n) => (n === "NX_MARKERS" ? "1" : undefined), false).markers,
    true,
  );
  assert.equal(
    decideOutput({}, (n) => (n === "NX_MARKERS" ? "yes" : undefined), false).markers,
    false,
  );
  assert.equal(decideOutput({ markers: true }, () => undefined, false).markers, true);
});
