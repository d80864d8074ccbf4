/**
 * `nx completion bash|zsh|fish|powershell`: shell completion scripts from @bomb.sh/tab, which
 * also serves the hidden `nx complete -- <words>` the scripts call back. tab prints the script
 * itself; with --json it is captured into the envelope instead.
 */
import type { Command } from "@commander-js/extra-typings";
import tab from "@bomb.sh/tab/commander";
import { script } from "@bomb.sh/tab";
import { runVerb } from "./common.ts";

/** Runs `print` with console.log redirected into a string (tab writes the script that way). */
function captured(print: () => void): string {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    print();
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

export function addCompletion(program: Command): void {
  tab(program as unknown as Parameters<typeof tab>[0], { completionCommandName: "completion" });
  const completion = program.commands.find((c) => c.name() === "completion")!;
  completion
    .option("--json", "print the script inside one JSON envelope")
    .action((...args: unknown[]) => {
      const [shell, opts] = args as [string, { json?: true }];
      return runVerb({ json: opts.json }, () => {
        const text = captured(() => script(shell, program.name(), program.name()));
        return Promise.resolve({
          message: `${shell} completion script`,
          data: { shell, script: text },
          human: text,
        });
      });
    });
}
