/** Entry point: argv → the host CLI (later also `nx agent`). */
import { CommanderError } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import { Output } from "./output.ts";
import { buildProgram } from "./program.ts";
import { renderError } from "./render/envelope.ts";

function applyExitOverride(cmd: ReturnType<typeof buildProgram>, errors: string[]): void {
  cmd.exitOverride();
  cmd.configureOutput({ writeErr: (text) => errors.push(text) });
  for (const sub of cmd.commands) applyExitOverride(sub as ReturnType<typeof buildProgram>, errors);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  const errors: string[] = [];
  applyExitOverride(program, errors);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) return; // --help, --version
    const out = Output.detect(argv.includes("--json"), false);
    // A command group without its verb (`nx pkg`): commander printed the group's help.
    const missingVerb = e.code === "commander.help";
    const code = e.code === "commander.unknownCommand"
      ? "usage.unknown_command"
      : "usage.invalid_argument";
    const message = missingVerb
      ? "cannot parse command line: a command is missing"
      : `cannot parse command line: ${e.message.replace(/^error: /, "")}`;
    if (!out.options.json) {
      const text = missingVerb ? errors.join("") : errors.join("").split("\n").slice(1).join("\n");
      if (text.trim()) out.stderr(text.trimEnd());
    }
    Deno.exitCode = renderError(
      out,
      new NxError(code, message, { hint: "run with --help for usage" }),
    );
  }
}

if (import.meta.main) await main(Deno.args);
