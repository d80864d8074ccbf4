/**
 * The last step of `deno task build`, run with the V8 flags bin/nx gives the bundle
 * ({@link BUNDLE_V8_FLAGS} in build.ts): imports every chunk of build/ once (their top-level code
 * only: main.js runs `main()` only as the entry point), so that Deno compiles them and writes their
 * code cache now, not in the first `nx` command after `npm ci` (docs/performance.md, "Every function
 * in the code cache"). Deno writes no code cache for `deno eval`, hence a file.
 */
const BUILD = new URL("../build/", import.meta.url);

for (const entry of Deno.readDirSync(BUILD)) {
  if (entry.isFile && entry.name.endsWith(".js")) await import(new URL(entry.name, BUILD).href);
}
