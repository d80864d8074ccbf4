/**
 * `node:util` for commander: `stripVTControlCharacters`, with the ANSI escape pattern of the
 * pinned Deno's node:util (ext/node/polyfills/internal/util/inspect.mjs, from chalk's ansi-regex).
 */

const ANSI = new RegExp(
  "[\\u001B\\u009B][[\\]()#;?]*" +
    "(?:(?:(?:(?:;[-a-zA-Z\\d\\/#&.:=?%@~_]+)*" +
    "|[a-zA-Z\\d]+(?:;[-a-zA-Z\\d\\/#&.:=?%@~_]*)*)" +
    "?(?:\\u0007|\\u001B\\u005C|\\u009C))" +
    "|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PR-TZcf-nq-uy=><~]))",
  "g",
);

export function stripVTControlCharacters(str: string): string {
  if (typeof str !== "string") {
    throw Object.assign(new TypeError('The "str" argument must be of type string'), {
      code: "ERR_INVALID_ARG_TYPE",
    });
  }
  return str.replace(ANSI, "");
}
