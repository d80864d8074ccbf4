/**
 * What every command of the tree gets, applied once to the finished tree (cli/program.ts): the
 * global options, help that shows them and an "Examples:" section, and path arguments made
 * absolute.
 *
 * Paths: every file or directory a command line names (`<bundle>`, `<src>`, `<key-file>`, and the
 * `<dir>`/`<file>` values of `--out`, `--key`, `--root`) is resolved against the working
 * directory as it is parsed, so every message, human line and JSON field that shows such a path
 * shows it absolute, whichever command it is.
 */
import type { Command } from "@commander-js/extra-typings";
import { resolve } from "node:path";
import { addGlobalOptions } from "./common.ts";
import { examplesText } from "./help_examples.ts";
import { commandPath } from "./usage.ts";

/** Argument names and option value names that are paths on the host. */
const PATH_VALUES = new Set(["bundle", "src", "key-file", "dir", "file"]);

/** A path as nx shows it: absolute, resolved against the working directory. */
export const absolutePath = (path: string): string => resolve(path);

function valueName(flags: string): string | undefined {
  return /[<[]([^>\]]+)[>\]]/.exec(flags)?.[1];
}

function finish(cmd: Command): void {
  cmd.configureHelp({ showGlobalOptions: true });
  const examples = examplesText(commandPath(cmd).replace(/^nx ?/, ""));
  if (examples) cmd.addHelpText("after", examples);
  for (const arg of cmd.registeredArguments) {
    if (PATH_VALUES.has(arg.name())) arg.argParser(absolutePath);
  }
  for (const option of cmd.options) {
    const name = valueName(option.flags);
    if (name && PATH_VALUES.has(name)) option.argParser(absolutePath);
  }
  for (const sub of cmd.commands) finish(sub as Command);
}

export function finishProgram(program: Command): Command {
  addGlobalOptions(program);
  finish(program);
  return program;
}
