import assert from "node:assert/strict";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../cli/program.ts";
import { generatedFiles } from "../docs/generate.ts";
import { REPO } from "./helpers.ts";

Deno.test("generated docs (errors.md, JSON Schemas) match the code", async (t) => {
  for (const [path, text] of generatedFiles()) {
    await t.step(path, async () => {
      const committed = await Deno.readTextFile(join(REPO, "docs", path)).catch(() => "(missing)");
      assert.ok(committed === text, `docs/${path} is stale: run deno task docs`);
    });
  }
});

Deno.test("deno task docs runs with the permissions its task grants (--check)", async () => {
  // The task's own command line, from deno.json: a module it imports that needs more than
  // --allow-read --allow-write at load time (Deno.osRelease() once did) fails here.
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const args = (config.tasks.docs as string).split(/\s+/).slice(1);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...args, "--check"],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.match(new TextDecoder().decode(out.stdout), /^generated docs are up to date\n$/);
});

/** The first cells of the table under `## Commands` in docs/cli.md, without their backticks. */
async function commandRows(): Promise<string[]> {
  const text = await Deno.readTextFile(join(REPO, "docs", "cli.md"));
  const section = text.split("\n## Commands\n")[1].split("\n## ")[0];
  return section.split("\n")
    .filter((l) => l.startsWith("| `nx "))
    .map((l) => l.split(/(?<!\\)\|/)[1].trim().replace(/^`|`$/g, "").replaceAll("\\|", "|"));
}

/** Every command below `nx` with its path ("pkg install"), hidden `complete` and `help` left out. */
function commandsOf(cmd: Command, path = ""): [string, Command][] {
  return cmd.commands
    .filter((c) => !["complete", "help"].includes(c.name()))
    .flatMap((c) => {
      const p = `${path} ${c.name()}`.trim();
      return [[p, c as Command] as [string, Command], ...commandsOf(c as Command, p)];
    });
}

/** Options the verbs share, documented once under "Options of the verbs" and "Global options". */
const SHARED = new Set([
  "--root",
  "--markers",
  "--registry-url",
  "--help",
  // The transport options of every root command (cli/remote.ts).
  "--transport",
  "--targets",
  "--identity",
  "--parallel",
  "--timeout",
]);

Deno.test("docs/cli.md has a row for every command, naming each of its own options", async (t) => {
  const rows = await commandRows();
  for (const [path, cmd] of commandsOf(buildProgram())) {
    // `pkg trust` and `pkg policy` have one row for the group (their verbs: policy.md).
    if (/^pkg (trust|policy) /.test(path)) continue;
    await t.step(path, () => {
      const row = rows.find((r) => r === `nx ${path}` || r.startsWith(`nx ${path} `));
      assert.ok(row, `docs/cli.md: no row for nx ${path}`);
      if (cmd.commands.length > 0) return;
      for (const o of cmd.options) {
        if (o.long && !SHARED.has(o.long)) {
          assert.ok(row.includes(o.long), `docs/cli.md: the row of nx ${path} omits ${o.long}`);
        }
      }
    });
  }
});
