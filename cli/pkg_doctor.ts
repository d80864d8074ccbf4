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
      const lines = [
        `ok: ${report.apps} app(s), ${report.files} file(s) checked, no findings`,
        ...(report.recovered ? [`recovered: ${report.recovered}`] : []),
        ...report.repaired.map((f) => `repaired ${f.kind}: ${f.path}`),
      ];
      return { message: "no findings", data: report, human: lines.join("\n") };
    })
  );
}
