/** `nx pkg clear-data <app>`: remove an app's data (it stays installed, with empty data). */
import { Command } from "@commander-js/extra-typings";
import { lifecycle, type Opts, render } from "./pkg_lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const CLEAR_DATA: RootCommand<"clearData", [app: string, opts: Opts]> = {
  method: "clearData",
  toRequest: (app, opts) => ({ app, dryRun: opts.dryRun === true }),
  render,
};

export function clearDataCommand() {
  return rootCommand(
    lifecycle(
      new Command("clear-data")
        .description(
          "delete an app's data: an installed app keeps running with empty data; for an " +
            "uninstalled app, the data uninstall kept",
        )
        .argument("<app>", "app id"),
      "list what would be deleted and its size; change nothing",
    ),
    CLEAR_DATA,
  );
}
