import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { renderDoctor } from "./render/doctor.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";
import { withRegistryUrl } from "./service.ts";

export const DOCTOR: RootCommand<
  "doctor",
  [opts: CommonOptions & { registryUrl?: string; repair?: true }]
> = {
  method: "doctor",
  toRequest: (opts) => ({ repair: opts.repair === true }),
  // Findings fail the command (doctor.findings, the report in its details): a result is clean.
  render: (report) => ({ message: "no findings", data: report, human: renderDoctor(report) }),
};

export function doctorCommand() {
  return rootCommand(
    withRegistryUrl(withCommon(
      new Command("doctor")
        .description(
          "check every installed file, the current links, registry vs tree, staging leftovers; exit non-zero on any finding",
        )
        .option(
          "--repair",
          "fix what can be fixed safely (leftovers, orphans, current links), then check again",
        ),
    )),
    DOCTOR,
  );
}
