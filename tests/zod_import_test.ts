/**
 * zod is imported as a namespace (`import * as z from "zod"`, or from "zod/mini" for the schemas
 * of verify, install and pack: core/schema/mod.ts) everywhere in cli/ and core/, never
 * as the named `z` (`import { z } from "zod"`). The named `z` is zod's own namespace object,
 * which the bundler keeps whole: every locale and the JSON-schema import (885 KB), evaluated by
 * every command that loads a schema (`nx pkg verify` included). With `import * as z` the bundler
 * keeps only what the schemas use (323 KB), with the same schemas and the same English messages
 * (tests/bundle_parity_test.ts).
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { REPO } from "./helpers.ts";

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield path;
  }
}

/** Any import of zod's named exports (`import { z }`, `import { object, z as zod }`, …). */
const NAMED_ZOD_IMPORT = /import\s*(type\s+)?\{[^}]*\}\s*from\s*"zod(\/[^"]*)?"/;

Deno.test("cli/ and core/ import zod only as a namespace (import * as z), so it tree-shakes", async () => {
  const named: string[] = [];
  let namespaces = 0;
  for (const dir of ["cli", "core"]) {
    for await (const path of sources(join(REPO, dir))) {
      const text = await Deno.readTextFile(path);
      const runtime = text.replace(/import\s+type\s*\{[^}]*\}\s*from\s*"zod[^"]*";?/g, "");
      if (NAMED_ZOD_IMPORT.test(runtime)) named.push(relative(REPO, path));
      if (/import \* as z from "zod(?:\/mini)?";/.test(text)) namespaces++;
    }
  }
  assert.deepEqual(named, []);
  // The check reads the real sources: the schema modules are there and use the namespace form.
  assert.ok(namespaces >= 10, `only ${namespaces} namespace imports of zod found`);
});
