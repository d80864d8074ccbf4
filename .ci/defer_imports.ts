/**
 * The bundle's `import("./chunk.js")` calls rewritten to `import(new URL("./chunk.js",
 * import.meta.url).href)`: the same module, loaded when the call runs. Deno builds a process's
 * module graph from the entry point's static imports *and* its string-literal dynamic imports, so
 * with literals every command read and analysed all ~50 chunks (1.8 MB) at start-up, the ones it
 * never runs included (~9 ms of `nx --version`, docs/performance.md#start-up-what-nx---version-loads).
 * A computed specifier is resolved only when `import()` is called. Nothing else changes: the URL is
 * the one the literal resolves to, and the chunk still needs only --allow-read, which bin/nx gives.
 */
const LITERAL_CHUNK_IMPORT = /\bimport\("(\.\/[A-Za-z0-9_.-]+\.js)"\)/g;

export function deferDynamicImports(chunks: Map<string, string>): Map<string, string> {
  return new Map(
    [...chunks].map(([file, text]) => [
      file,
      text.replace(LITERAL_CHUNK_IMPORT, 'import(new URL("$1", import.meta.url).href)'),
    ]),
  );
}
