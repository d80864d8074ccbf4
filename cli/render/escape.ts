/**
 * The one escaping rule for untrusted text on a terminal or in a log: bundle file names, manifest
 * fields, paths, migration output and the error messages that embed them. Every character that
 * could move the cursor, end a line, start an escape sequence or reorder what is shown is written
 * as a visible escape instead:
 *
 * - C0 controls U+0000–U+001F: `\n`, `\r`, `\t`, the rest `\xNN` (ESC is `\x1b`);
 * - DEL U+007F and the C1 controls U+0080–U+009F (U+009B is the one-byte CSI): `\xNN`;
 * - bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the line
 *   and paragraph separators U+2028, U+2029: `\uNNNN`.
 *
 * A backslash is left as it is, so escaping is idempotent: text escaped twice (a value, then the
 * line it sits in) reads the same as text escaped once.
 *
 * JSON output carries the exact strings: `JSON.stringify` already writes C0 as `\uNNNN`, and
 * {@link escapeJson} writes the rest of the set the same way, which parses to the same string.
 */

// Matching control characters is the point of these two (deno lint's no-control-regex).
const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const UNSAFE_BUT_NEWLINE =
  // deno-lint-ignore no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function visible(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.codePointAt(0)!;
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, "0")}`
    : `\\u${code.toString(16).padStart(4, "0")}`;
}

/** One value or one line: every unsafe character escaped, newlines included. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * JSON text from `JSON.stringify`: DEL, C1, bidi and separator characters (which it leaves raw)
 * as `\uNNNN` escapes. Outside strings JSON text is ASCII, so this never changes what it parses to.
 */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}

/** Multi-line layout text: every unsafe character escaped except the newlines between lines. */
export function escapeLines(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, visible);
}
