/**
 * `deno run <nx's permissions> --no-config _preloaded.ts <nx args…>`: the bundle's CLI with every
 * module of `build/` imported before the clock starts, then `main(args)` timed; the last line of
 * stderr is `preloaded-ms <ms>`. It is a command without Deno's start-up, the node layer or
 * module loading, but with everything a first run pays while it runs: code compiled on first
 * call, the first libSQL and libc calls, a young heap. It imports nothing else, so nothing but the
 * bundle is loaded in it (_start_up_split.ts runs it and makes the rows).
 */
const BUILD = new URL("../../build/", import.meta.url);

if (import.meta.main) {
  const names: string[] = [];
  for await (const entry of Deno.readDir(BUILD)) {
    if (entry.isFile && entry.name.endsWith(".js") && entry.name !== "main.js") {
      names.push(entry.name);
    }
  }
  const { main } = await import(new URL("main.js", BUILD).href);
  for (const name of names.sort()) await import(new URL(name, BUILD).href);
  const start = performance.now();
  await main(Deno.args);
  console.error(`preloaded-ms ${(performance.now() - start).toFixed(3)}`);
}
