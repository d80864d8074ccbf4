import { Command } from "@commander-js/extra-typings";
import { runVerb, withCommon } from "./common.ts";
import { serviceOptions, withRegistryUrl } from "./service.ts";

export function doctorCommand() {
  return withRegistryUrl(withCommon(
    new Command("doctor")
      .description(
        "check every installed file, the current links, registry vs tree, staging leftovers; exit non-zero on any finding",
      )
      .option(
        "--repair",
        "fix what can be fixed safely (leftovers, orphans, current links), then check again",
      ),
  )).action((opts) =>
    runVerb(opts, async (ctx) => {
      const { doctor } = await import("../core/pkgr/doctor.ts");
      const report = await doctor(ctx, await serviceOptions(opts), opts.repair === true);
      const { renderDoctor } = await import("./render/doctor.ts");
      return { message: "no findings", data: report, human: renderDoctor(report) };
    })
  );
}
