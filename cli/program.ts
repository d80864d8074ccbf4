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

export function buildProgram(): Command {
  const program = new Command("nx")
    .description("install, upgrade and roll back signed Nexus app bundles (.nxb)")
    .version(NX_VERSION, "-V, --version");
  const pkg = new Command("pkg").description("bundles, trust policy and the app lifecycle");
  const verbs = [
    initCommand(),
    keygenCommand(),
    packCommand(),
    inspectCommand(),
    verifyCommand(),
    installCommand(),
    upgradeCommand(),
    rollbackCommand(),
    uninstallCommand(),
    repairCommand(),
    clearDataCommand(),
    listCommand(),
    infoCommand(),
    historyCommand(),
    queryCommand(),
    launchCommand(),
    doctorCommand(),
    trustCommand(),
    policyCommand(),
  ];
  for (const verb of verbs) pkg.addCommand(verb as unknown as Command);
  program.addCommand(pkg);
  program.addCommand(licensedCommand());
  program.addCommand(storeCommand());
  program.addCommand(demoCommand());
  program.addCommand(agentCommand() as unknown as Command);
  program.addCommand(qemuCommand());
  program.addCommand(selftestCommand() as unknown as Command);
  addCompletion(program as unknown as Command);
  return finishProgram(program as unknown as Command);
}
