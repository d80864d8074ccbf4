/** `nx pkg repair <app>`: put the active version's files back from the copy nx keeps. */
import { Command } from "@commander-js/extra-typings";
import { lifecycle, type Opts, render } from "./pkg_lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const REPAIR: RootCommand<"repair", [app: string, opts: Opts]> = {
  method: "repair",
  toRequest: (app, opts) => ({ app, dryRun: opts.dryRun === true }),
  render,
};

export function repairCommand() {
  return rootCommand(
    lifecycle(
      new Command("repair")
        .description(
          "re-verify an app's active version and restore its files from the copy nx keeps",
        )
        .argument("<app>", "app id"),
      "say what is damaged and what would be restored; change nothing",
    ),
    REPAIR,
  );
}
