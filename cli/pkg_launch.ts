/**
 * `nx pkg launch <app> [-- args…]`: runs the active version's program with the app's data
 * directory as its working directory, after the registry and the entitlement gate said it may
 * (`--check`: only ask). Locally the program shares nx's terminal; through an agent its output
 * comes back in the result and is printed here.
 */
import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

type Opts = CommonOptions & { check?: true };

export const LAUNCH: RootCommand<"launch", [app: string, args: string[], opts: Opts]> = {
  method: "launch",
  toRequest: (app, args, opts) => ({
    app,
    ...(args.length > 0 ? { args } : {}),
    ...(opts.check === true ? { check: true } : {}),
    // --json: stdout holds the one envelope, so the program's output goes into it.
    ...(opts.json === true ? { capture: true } : {}),
  }),
  render: (r) => {
    const said = r.launched
      ? `${r.app} ${r.version} ran and exited ${r.exitCode}`
      : `${r.app} ${r.version} may launch`;
    // Captured output (an agent's launch) is the program's: printed as it came.
    const output = [r.stdout, r.stderr].filter((t) => t).join("").replace(/\n$/, "");
    return { message: said, data: r, human: r.launched ? output : said };
  },
};

export function launchCommand() {
  return rootCommand(
    withCommon(
      new Command("launch")
        .description(
          "run an installed app's program (cwd: its data directory) if its entitlement allows",
        )
        .argument("<app>", "app id")
        .argument("[args...]", "the program's arguments (after --)")
        .option("--check", "only answer whether it may launch: exit 0, or the refusal's code"),
    ),
    LAUNCH,
  );
}
