/**
 * `deno run <nx's permissions> --no-config _preloaded.ts <nx args…>`: the bundle's CLI with every
 * module of `build/` imported before the clock starts, then `main(args)` timed; the last line of
 * stderr is `preloaded-ms <ms>`. It is a command without Deno's start-up, the node layer or
 * module loading, but with everything a first run pays while it runs: code compiled on first
 * call, the first libSQL and libc calls, a young heap. The install suite sets it between the
 * whole process and the warm in-process call (its start-up split rows).
 */
const BUILD = new URL("../../build/", import.meta.url);

/** The time a `_preloaded.ts` run reported on stderr. */
export function preloadedMs(stderr: string): number {
  const match = /^preloaded-ms (\d+(?:\.\d+)?)$/.exec(stderr.trimEnd().split("\n").at(-1) ?? "");
  if (!match) throw new Error(`cannot measure the preloaded run: no timing line\n${stderr}`);
  return Number(match[1]);
}

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
