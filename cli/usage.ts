/**
 * Command-line parse errors become one usage error here: a one-line message ("cannot parse
 * command line: …") and at most one hint, the next thing to type — `nx pkg install` for `nx
 * install`, the verb a typo was close to, else the `--help` of the command that failed.
 *
 * Also the two things main() needs before commander parses: the output options a failed parse
 * still honours (`--json`, `-q`, `-v`, `--color`), and `help <command…>` at any level rewritten to
 * `<command…> --help`, so `nx help pkg install` shows the help of `nx pkg install`.
 */
import type { Command, CommanderError } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import { COLOR_WHEN, type ColorWhen, type OutputRequest } from "./output.ts";

/** A commander error with the command whose part of the line it was parsing. */
export class UsageFailure extends Error {
  constructor(readonly error: CommanderError, readonly command: Command) {
    super(error.message);
  }
}

/** `nx pkg install` for the install command. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) names.unshift(c.name());
  return names.join(" ");
}

const visibleCommands = (cmd: Command) =>
  cmd.createHelp().visibleCommands(cmd).filter((c) => c.name() !== "help") as Command[];

function find(cmd: Command, name: string): Command | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name)) as
    | Command
    | undefined;
}

/** Optimal string alignment distance (as commander's own suggestions use). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(
        d[i - 1][j] + 1,
        d[i][j - 1] + 1,
        d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/** The closest names (at most 2 edits, and closer than 60 % of the word), best first. */
export function similar(word: string, names: string[]): string[] {
  const scored = names
    .map((name) => ({ name, d: distance(word, name) }))
    .filter(({ name, d }) => d <= 2 && d < 0.6 * Math.max(word.length, name.length));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.name).sort();
}

const quoted = (commands: string[]) => commands.map((c) => `\`${c}\``).join(" or ");

/** commander's first line as a message body: no `error: ` prefix, one sentence, no period. */
function reason(message: string): string {
  return message.split("\n")[0]
    .replace(/^error: /, "")
    .replace(/\. ([A-Z])/g, (_, c: string) => `: ${c.toLowerCase()}`)
    .replace(/\.$/, "");
}

function unknownCommandHint(program: Command, cmd: Command, name: string): string {
  const path = commandPath(cmd);
  if (cmd === program) {
    // `nx install …`: the verbs live under `nx pkg`.
    const pkg = find(program, "pkg");
    if (pkg && find(pkg, name) && name !== "help") return `did you mean \`nx pkg ${name}\`?`;
    const top = similar(name, visibleCommands(program).map((c) => c.name()));
    if (top.length > 0) return `did you mean ${quoted(top.map((c) => `nx ${c}`))}?`;
    const verbs = pkg ? similar(name, visibleCommands(pkg).map((c) => c.name())) : [];
    if (verbs.length > 0) return `did you mean ${quoted(verbs.map((c) => `nx pkg ${c}`))}?`;
  } else {
    const near = similar(name, visibleCommands(cmd).map((c) => c.name()));
    if (near.length > 0) return `did you mean ${quoted(near.map((c) => `${path} ${c}`))}?`;
  }
  return `run \`${path} --help\` for its commands`;
}

function unknownOptionHint(cmd: Command, flag: string): string {
  const path = commandPath(cmd);
  const flags: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) {
    for (const o of c.options) if (o.long) flags.push(o.long);
  }
  const near = flag.startsWith("--") ? similar(flag, flags) : [];
  return near.length > 0
    ? `did you mean ${quoted(near)}?`
    : `run \`${path} --help\` for its options`;
}

/** The usage error for a failed parse (`program`: the whole tree, `cmd`: where it failed). */
export function usageError(program: Command, failure: UsageFailure): NxError {
  const { error, command } = failure;
  const path = commandPath(command);
  switch (error.code) {
    case "commander.unknownCommand": {
      const name = command.args[0] ?? "";
      return new NxError(
        "usage.unknown_command",
        `cannot parse command line: ${reason(error.message)}`,
        {
          hint: unknownCommandHint(program, command, name),
        },
      );
    }
    case "commander.unknownOption": {
      const flag = /'([^']*)'/.exec(error.message)?.[1] ?? "";
      return new NxError(
        "usage.invalid_argument",
        `cannot parse command line: ${reason(error.message)}`,
        {
          hint: unknownOptionHint(command, flag),
        },
      );
    }
    case "commander.help": // a group without its command: commander showed the group's help
      return new NxError(
        "usage.invalid_argument",
        `cannot parse command line: \`${path}\` needs a command`,
        {
          hint: `run \`${path} --help\` for its commands`,
        },
      );
    default:
      return new NxError(
        "usage.invalid_argument",
        `cannot parse command line: ${reason(error.message)}`,
        {
          hint: `run \`${path} --help\` for usage`,
        },
      );
  }
}

/** The output options of a line commander could not parse (up to `--`). */
export function outputRequest(argv: string[]): OutputRequest {
  const end = argv.indexOf("--");
  const words = end < 0 ? argv : argv.slice(0, end);
  const has = (...flags: string[]) => words.some((w) => flags.includes(w));
  const at = words.indexOf("--color");
  const given = at >= 0 ? words[at + 1] : words.find((w) => w.startsWith("--color="))?.slice(8);
  const color = COLOR_WHEN.find((w) => w === given) as ColorWhen | undefined;
  return {
    json: has("--json"),
    quiet: has("-q", "--quiet"),
    verbose: has("-v", "--verbose"),
    color,
    markers: has("--markers"),
  };
}

/**
 * `help` in the place of a command, at any level (`nx help pkg install`, `nx pkg help trust add`):
 * the same line with `--help` on the command the words after `help` name. When a word there is
 * not a command, the line without `help`, so the parse reports that unknown command.
 */
export function rewriteHelp(program: Command, argv: string[]): string[] {
  let cmd = program;
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === "--") return argv;
    if (word.startsWith("-")) {
      const option = cmd.options.find((o) => o.long === word || o.short === word) ??
        program.options.find((o) => o.long === word || o.short === word);
      if (option && (option.required || option.optional)) i++; // its value
      continue;
    }
    if (word === "help" && cmd.commands.length > 0) {
      const before = argv.slice(0, i);
      const rest = argv.slice(i + 1);
      let target: Command | undefined = cmd;
      for (const name of rest.filter((w) => !w.startsWith("-"))) {
        target = target && find(target, name);
      }
      return target ? [...before, ...rest, "--help"] : [...before, ...rest];
    }
    const sub = find(cmd, word);
    if (!sub) return argv;
    cmd = sub;
  }
  return argv;
}
