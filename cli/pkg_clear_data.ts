/** `nx pkg clear-data <app>`: remove an app's data (it stays installed, with empty data). */
import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { render } from "./pkg_lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

type Opts = CommonOptions & { registryUrl?: string; dryRun?: true };

export const CLEAR_DATA: RootCommand<"clearData", [app: string, opts: Opts]> = {
  method: "clearData",
  toRequest: (app, opts) => ({ app, dryRun: opts.dryRun === true }),
  render,
};

export function clearDataCommand() {
  return rootCommand(
    withRegistryUrl(withCommon(
      new Command("clear-data")
        .description(
          "delete an app's data: an installed app keeps running with empty data; for an " +
            "uninstalled app, the data uninstall kept",
        )
        .argument("<app>", "app id")
        .option("--dry-run", "list what would be deleted and its size; change nothing"),
    )),
    CLEAR_DATA,
  );
}
