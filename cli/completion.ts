/**
 * Shell completion. `nx completion bash|zsh|fish|powershell` prints a script
 * ({@link completionScript}); on every Tab the script runs the hidden `nx complete -- <words…>`
 * (the `nx` on PATH: bin/nx, see the README), which answers here.
 *
 * `nx complete -- <words…>` gets the words after `nx` up to the cursor, the last one being the
 * word under completion (empty after a space), and prints cobra's protocol, which the scripts and
 * the PowerShell script of @bomb.sh/tab read: one candidate per line as `value<TAB>description`,
 * then `:<directive>`, a bit set ({@link Directive}). With `filterExt` the lines are file
 * extensions and the shell completes directories and files with those extensions; with `dirs` the
 * shell completes directories; with neither and no candidates, files (unless `noFiles`).
 */
import { Argument, type Command, type Option } from "@commander-js/extra-typings";
import { join, resolve } from "node:path";
import { resolveRootDir } from "../core/store/paths.ts";
import { escapeText } from "./render/escape.ts";
import { completionScript, SHELLS } from "./completion_scripts.ts";
import { runVerb } from "./common.ts";

export const Directive = {
  error: 1,
  noSpace: 2,
  noFiles: 4,
  filterExt: 8,
  dirs: 16,
  keepOrder: 32,
} as const;

export interface Candidate {
  value: string;
  description?: string;
}

export interface Completions {
  candidates: Candidate[];
  directive: number;
}

/** Where completion runs: the environment and the directory relative paths start from. */
export interface CompletionEnv {
  env: (name: string) => string | undefined;
  cwd: string;
}

/** What the words before the cursor say: the command reached, its operands, option values. */
interface Line {
  command: Command;
  operands: string[];
  /** Option values by long flag (`--root` → `/tmp/r`); a switch maps to "". */
  values: Map<string, string>;
  env: CompletionEnv;
}

const words = (candidates: Candidate[], prefix: string): Completions => ({
  candidates: candidates.filter((c) => c.value.startsWith(prefix)),
  directive: Directive.noFiles,
});
const NONE: Completions = { candidates: [], directive: Directive.noFiles };
const FILES: Completions = { candidates: [], directive: 0 };
const DIRS: Completions = { candidates: [], directive: Directive.dirs };
/** Directories and files ending in `.<ext>` (bundles are `<name>.nxb` directories). */
const withExt = (ext: string): Completions => ({
  candidates: [{ value: ext }],
  directive: Directive.filterExt,
});

const flagOf = (o: Option) => o.long ?? o.short ?? "";
const takesValue = (o: Option) => o.required || o.optional;

function findOption(cmd: Command, flag: string): Option | undefined {
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) {
    const opt = c.options.find((o) => o.long === flag || o.short === flag);
    if (opt) return opt;
  }
  return undefined;
}

function subcommands(cmd: Command): Command[] {
  return cmd.createHelp().visibleCommands(cmd).filter((c) => c.name() !== "help") as Command[];
}

/** `~` and `~/…` as the shell would expand them (the scripts pass the words as typed). */
function expandHome(path: string, env: CompletionEnv): string {
  const home = env.env("HOME");
  if (!home || (path !== "~" && !path.startsWith("~/"))) return path;
  return home + path.slice(1);
}

function parseLine(program: Command, before: string[], env: CompletionEnv) {
  const line: Line = { command: program, operands: [], values: new Map(), env };
  let pending: Option | undefined;
  let operandsOnly = false;
  for (const word of before) {
    if (pending) {
      line.values.set(flagOf(pending), word);
      pending = undefined;
    } else if (!operandsOnly && word === "--") {
      operandsOnly = true;
    } else if (!operandsOnly && word.startsWith("-") && word.length > 1) {
      const eq = word.indexOf("=");
      const opt = findOption(line.command, eq > 0 ? word.slice(0, eq) : word);
      if (opt && takesValue(opt) && eq < 0) pending = opt;
      else if (opt) line.values.set(flagOf(opt), eq > 0 ? word.slice(eq + 1) : "");
    } else {
      const sub = line.operands.length === 0
        ? subcommands(line.command).find((c) => c.name() === word || c.aliases().includes(word))
        : undefined;
      if (sub) line.command = sub;
      else line.operands.push(word);
    }
  }
  return { line, pending, operandsOnly };
}

/** The command path below `nx`, e.g. "pkg policy set". */
function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent as Command | null) {
    names.unshift(c.name());
  }
  return names.join(" ");
}

/** The state root the command line names: `--root`, else `$NX_ROOT`, else the default. */
function rootOf(line: Line): string {
  const flag = line.values.get("--root");
  const dir = flag ? resolve(line.env.cwd, expandHome(flag, line.env)) : undefined;
  return resolveRootDir(dir, line.env.env);
}

async function readDirNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) if (e.isDirectory) names.push(e.name);
  } catch {
    // No such directory (no root yet, a typo in --root): nothing to offer.
  }
  return names.sort();
}

async function activeVersion(appDir: string): Promise<string | undefined> {
  try {
    return (await Deno.readLink(join(appDir, "current"))).split("/").at(-1);
  } catch {
    return undefined;
  }
}

/**
 * Installed apps, read from the root's tree: an app is installed when `apps/<id>/current` links to
 * its active version (data kept by `uninstall --keep-data` has no link). A directory read, no lock,
 * no registry database: completion runs on every Tab.
 */
export async function installedApps(root: string): Promise<Candidate[]> {
  const apps = join(root, "apps");
  const out: Candidate[] = [];
  for (const id of await readDirNames(apps)) {
    const active = await activeVersion(join(apps, id));
    if (active) out.push({ value: id, description: `active ${active}` });
  }
  return out;
}

/** Retained versions of an app other than the active one (`rollback --to`). */
async function retainedVersions(root: string, app: string | undefined): Promise<Candidate[]> {
  if (!app || app.includes("/") || app.startsWith(".")) return [];
  const dir = join(root, "apps", app);
  const active = await activeVersion(dir);
  return (await readDirNames(join(dir, "versions")))
    .filter((v) => v !== active)
    .map((v) => ({ value: v, description: "retained" }));
}

async function publishers(root: string): Promise<Candidate[]> {
  try {
    const { rootPaths } = await import("../core/store/paths.ts");
    const { trustList } = await import("../core/pkgr/trust_admin.ts");
    const list = await trustList(rootPaths(root));
    return list.map((p) => ({ value: p.id, description: p.name ?? "" }));
  } catch {
    return []; // no root, or a policy nx would refuse: the command itself will say so
  }
}

/** Policy keys as `policy set` takes them, with the values each accepts. */
async function policyKeys(): Promise<Map<string, { values: string[]; description: string }>> {
  const { PolicySchema } = await import("../core/trust/mod.ts");
  const keys = new Map<string, { values: string[]; description: string }>();
  for (const [name, schema] of Object.entries(PolicySchema.shape)) {
    if (name === "version") continue;
    // deno-lint-ignore no-explicit-any
    let def: any = schema.def;
    while (def.type === "default" || def.type === "optional") def = def.innerType.def;
    const values = def.type === "enum"
      ? Object.keys(def.entries)
      : def.type === "boolean"
      ? ["on", "off"]
      : [];
    const description = values.length > 0 ? values.join("|") : def.type;
    keys.set(name.replaceAll("_", "-"), { values, description });
  }
  return keys;
}

async function optionValue(line: Line, opt: Option, prefix: string): Promise<Completions> {
  switch (flagOf(opt)) {
    case "--root":
    case "--out":
      return DIRS;
    case "--key":
      return withExt("key");
    case "--to":
      return words(await retainedVersions(rootOf(line), line.operands[0]), prefix);
    case "--publisher":
      return words(await publishers(rootOf(line)), prefix);
  }
  if (opt.argChoices) return words(opt.argChoices.map((value) => ({ value })), prefix);
  return NONE;
}

async function operandValue(line: Line, prefix: string): Promise<Completions> {
  const args = line.command.registeredArguments;
  const index = line.operands.length;
  const arg = index < args.length ? args[index] : args.at(-1)?.variadic ? args.at(-1) : undefined;
  if (!arg) return NONE;
  const path = pathOf(line.command);
  switch (arg.name()) {
    case "bundle":
      return withExt("nxb");
    case "src":
      return DIRS;
    case "key-file":
      return withExt("pub");
    case "app":
      return words(await installedApps(rootOf(line)), prefix);
  }
  if (path === "pkg trust remove") return words(await publishers(rootOf(line)), prefix);
  if (path === "pkg policy set") {
    const keys = await policyKeys();
    if (index === 0) {
      return words([...keys].map(([value, k]) => ({ value, description: k.description })), prefix);
    }
    return words((keys.get(line.operands[0])?.values ?? []).map((value) => ({ value })), prefix);
  }
  if (arg.argChoices) return words(arg.argChoices.map((value) => ({ value })), prefix);
  return FILES;
}

/** The command's options, then the global ones of `nx` (accepted on every command). */
function optionNames(line: Line, prefix: string): Completions {
  const visible = line.command.createHelp().visibleOptions(line.command);
  for (let c = line.command.parent as Command | null; c; c = c.parent as Command | null) {
    const inherited = c.createHelp().visibleOptions(c);
    visible.push(...inherited.filter((o) => !["--help", "--version"].includes(o.long ?? "")));
  }
  const candidates = visible
    .filter((o) => o.long && !line.values.has(o.long))
    .map((o) => ({ value: o.long!, description: o.description }));
  return words(candidates, prefix);
}

/** The candidates for the last of `argv` (the words after `nx`), as the scripts receive them. */
export async function complete(
  program: Command,
  argv: string[],
  env: CompletionEnv,
): Promise<Completions> {
  const current = argv.at(-1) ?? "";
  const { line, pending, operandsOnly } = parseLine(program, argv.slice(0, -1), env);
  if (pending) return await optionValue(line, pending, current);
  if (!operandsOnly && current.startsWith("-")) {
    const eq = current.indexOf("=");
    const opt = eq > 0 ? findOption(line.command, current.slice(0, eq)) : undefined;
    if (opt && takesValue(opt)) return await optionValue(line, opt, current.slice(eq + 1));
    return optionNames(line, current);
  }
  const subs = line.operands.length === 0 ? subcommands(line.command) : [];
  if (subs.length > 0) {
    return words(subs.map((c) => ({ value: c.name(), description: c.description() })), current);
  }
  return await operandValue(line, current);
}

/** The protocol text: candidates that a shell can take as one word, then the directive. */
export function formatCompletions(c: Completions): string {
  const lines = c.candidates
    .filter((x) => x.value !== "" && escapeText(x.value) === x.value)
    .map((x) => x.description ? `${x.value}\t${escapeText(x.description)}` : x.value);
  return [...lines, `:${c.directive}`].join("\n") + "\n";
}

export function addCompletion(program: Command): void {
  program.command("completion")
    .description("print a shell completion script (it calls the `nx` on PATH)")
    .addArgument(new Argument("<shell>", "the shell").choices(SHELLS))
    .action((shell, opts) =>
      runVerb(opts, async () => {
        const text = await completionScript(shell);
        return {
          message: `${shell} completion script`,
          data: { shell, script: text },
          human: text,
        };
      })
    );
  const hidden = program.createCommand("complete")
    .description("print completion candidates for the words after `nx` (used by the scripts)")
    .usage("-- <words...>")
    .argument("[words...]")
    .helpOption(false)
    .allowUnknownOption()
    .action(async (argv: string[]) => {
      let result: Completions;
      try {
        result = await complete(program, argv, { env: (n) => Deno.env.get(n), cwd: Deno.cwd() });
      } catch {
        result = { candidates: [], directive: Directive.error };
      }
      await Deno.stdout.write(new TextEncoder().encode(formatCompletions(result)));
    });
  program.addCommand(hidden, { hidden: true });
}
