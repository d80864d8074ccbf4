/** The command tree: `nx pkg <verb>`, `nx demo`, `nx completion <shell>`. */
import { Command } from "@commander-js/extra-typings";
import { NX_VERSION } from "../core/version/nx_version.ts";
import { agentCommand } from "./agent.ts";
import { demoCommand } from "./demo.ts";
import { qemuCommand } from "./qemu.ts";
import { selftestCommand } from "./selftest.ts";
import { inspectCommand } from "./pkg_inspect.ts";
import { keygenCommand } from "./pkg_keygen.ts";
import { packCommand } from "./pkg_pack.ts";
import { policyCommand } from "./pkg_policy.ts";
import { trustCommand } from "./pkg_trust.ts";
import { verifyCommand } from "./pkg_verify.ts";
import {
  installCommand,
  rollbackCommand,
  uninstallCommand,
  upgradeCommand,
} from "./pkg_lifecycle.ts";
import { historyCommand, infoCommand, listCommand, queryCommand } from "./pkg_query.ts";
import { doctorCommand } from "./pkg_doctor.ts";
import { initCommand } from "./pkg_init.ts";
import { repairCommand } from "./pkg_repair.ts";
import { clearDataCommand } from "./pkg_clear_data.ts";
import { launchCommand } from "./pkg_launch.ts";
import { licensedCommand } from "./licensed.ts";
import { storeCommand } from "./store.ts";
import { addCompletion } from "./completion.ts";
import { finishProgram } from "./shell.ts";

type Build = () => unknown;

/** `nx pkg`'s verbs in help order, each with the name its command has (tests/cli_test.ts). */
const PKG_VERBS: [string, Build][] = [
  ["init", initCommand],
  ["keygen", keygenCommand],
  ["pack", packCommand],
  ["inspect", inspectCommand],
  ["verify", verifyCommand],
  ["install", installCommand],
  ["upgrade", upgradeCommand],
  ["rollback", rollbackCommand],
  ["uninstall", uninstallCommand],
  ["repair", repairCommand],
  ["clear-data", clearDataCommand],
  ["list", listCommand],
  ["info", infoCommand],
  ["history", historyCommand],
  ["query", queryCommand],
  ["launch", launchCommand],
  ["doctor", doctorCommand],
  ["trust", trustCommand],
  ["policy", policyCommand],
];

/** The top-level commands in help order (`completion` and `complete` come last, see below). */
const TOP: [string, (argv: readonly string[]) => unknown][] = [
  ["pkg", (argv) => pkgCommand(argv[1])],
  ["licensed", licensedCommand],
  ["store", storeCommand],
  ["demo", demoCommand],
  ["agent", agentCommand],
  ["qemu", qemuCommand],
  ["selftest", selftestCommand],
];

function pkgCommand(verb: string | undefined): Command {
  const pkg = new Command("pkg").description("bundles, trust policy and the app lifecycle");
  for (const [, build] of only(PKG_VERBS, verb)) pkg.addCommand(build() as Command);
  return pkg;
}

/** The entry named `name`, or every entry when none has that name. */
function only<T>(entries: [string, T][], name: string | undefined): [string, T][] {
  const named = entries.filter(([n]) => n === name);
  return named.length > 0 ? named : entries;
}

/**
 * The command tree; given the command line, only the branch it runs. `nx pkg install …` builds
 * `pkg install` alone and `nx --version` no command, as building all of them costs every run
 * ~4 ms (docs/performance.md). Any other line — help, a typo, completion — gets the whole tree,
 * so help, suggestions and completions see every command. Without `argv`: the whole tree.
 */
export function buildProgram(argv?: readonly string[]): Command {
  const program = new Command("nx")
    .description("install, upgrade and roll back signed Nexus app bundles (.nxb)")
    .version(NX_VERSION, "-V, --version");
  const versionOnly = argv?.length === 1 && (argv[0] === "--version" || argv[0] === "-V");
  if (versionOnly) return finishProgram(program);
  const top = argv === undefined ? TOP : only(TOP, argv[0]);
  for (const [, build] of top) program.addCommand(build(argv ?? []) as Command);
  if (top.length === TOP.length) addCompletion(program);
  return finishProgram(program);
}
