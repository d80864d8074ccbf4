/**
 * `deno task compile`: one self-contained `nx` binary (dist/nx) via `deno compile`. That needs
 * the `denort` runtime from the Deno download server (or DENORT_BIN); where it cannot be had,
 * this fails with one clear line instead of Deno's long error.
 */
const args = [
  "compile",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
  "--allow-run",
  "--allow-net",
  "--include",
  "fixtures/keys",
  "--include",
  "fixtures/src",
  "--output",
  "dist/nx",
  "cli/main.ts",
];
const out = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "piped" })
  .output();
const stderr = new TextDecoder().decode(out.stderr);
if (out.success) {
  console.error("compiled dist/nx");
  Deno.exit(0);
}
if (/download|dl\.deno\.land|error sending request|dns|connect|network|denort/i.test(stderr)) {
  console.error(
    "nx compile: cannot fetch the Deno runtime (denort) that `deno compile` embeds — this network blocks it; " +
      "set DENORT_BIN to a local denort, or use `deno task nx` (deno run), which runs the same entry point",
  );
} else {
  console.error(stderr.trimEnd());
}
Deno.exit(1);
