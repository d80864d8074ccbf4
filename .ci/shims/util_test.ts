import assert from "node:assert/strict";
import * as node from "node:util";
import { stripVTControlCharacters } from "./util.ts";

const PIECES = [
  "plain",
  "é 漢",
  "\x1b[31m",
  "\x1b[0m",
  "\x1b[38;5;200m",
  "\x1b[1;2;3;4;5m",
  "\x1b[?25l",
  "\x1b(B",
  "\x1b]8;;http://x/\x07",
  "\x1b]0;title\x1b\\",
  "\x9b1;2m",
  "\x9c",
  "\x1b",
  "\x1b[",
  "\x1b[12345m",
  "\x1b[K",
  "\x1b[2J",
];

Deno.test("stripVTControlCharacters() removes what node:util removes", () => {
  for (const a of PIECES) {
    for (const b of PIECES) {
      for (const c of PIECES) {
        const s = a + b + c;
        assert.equal(
          stripVTControlCharacters(s),
          node.stripVTControlCharacters(s),
          JSON.stringify(s),
        );
      }
    }
  }
  assert.throws(() => stripVTControlCharacters(1 as unknown as string), {
    code: "ERR_INVALID_ARG_TYPE",
  });
});
