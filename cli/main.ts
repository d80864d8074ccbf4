/** Entry point: argv → the host CLI (later also `nx agent`). */
import { type Command, CommanderError } from "@commander-js/extra-typings";
import { Output, writeStdout } from "./output.ts";
import { buildProgram } from "./program.ts";
import { renderError } from "./render/envelope.ts";
import { outputRequest, rewriteHelp, usageError, UsageFailure } from "./usage.ts";

/** Commander reports through us: its errors are thrown with their command, its text kept. */
function applyExitOverride(cmd: Command, errors: string[]): void {
  cmd.exitOverride((e) => {
    throw new UsageFailure(e, cmd);
  });
  cmd.configureOutput({ writeOut: writeStdout, writeErr: (text) => errors.push(text) });
  for (const sub of cmd.commands) applyExitOverride(sub as Command, errors);
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram(argv);
  const errors: string[] = [];
  applyExitOverride(program, errors);
  try {
    await program.parseAsync(rewriteHelp(program, argv), { from: "user" });
  } catch (e) {
    const failure = e instanceof UsageFailure
      ? e
      : e instanceof CommanderError
      ? new UsageFailure(e, program)
      : undefined;
    if (!failure) throw e;
    if (failure.error.exitCode === 0) return; // --help, --version
    const out = Output.detect(outputRequest(argv));
    // A group without its command (`nx pkg`): commander wrote the group's help, shown first.
    if (failure.error.code === "commander.help") out.log(errors.join("").trimEnd());
    Deno.exitCode = renderError(out, usageError(program, failure));
  }
}

if (import.meta.main) await main(Deno.args);
