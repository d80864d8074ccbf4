import { Command } from "@commander-js/extra-typings";
import type { DoctorReport } from "../core/api/mod.ts";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { renderDoctor, renderProblems } from "./render/doctor.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";
import { withRegistryUrl } from "./service.ts";

type Opts = CommonOptions & { registryUrl?: string; repair?: true };

export const DOCTOR: RootCommand<"doctor", [opts: Opts]> = {
  method: "doctor",
  toRequest: (opts) => ({ repair: opts.repair === true }),
  // Findings fail the command (doctor.findings, the report in its details): a result is clean.
  render: (report) => ({ message: "no problems", data: report, human: renderDoctor(report) }),
  // A failed check is data too: the human run lists the problems by app on stdout, then the error
  // (summary and next step) on stderr; `--json` has them in the error's details.report.
  failed: (e, ctx) => {
    const report = reportOf(e);
    if (report && !ctx.out.options.json) ctx.out.stdout(renderProblems(ctx.paths.root, report));
  },
};

/** The report a `doctor.findings` failure carries (`details.report`). */
function reportOf(e: unknown): DoctorReport | undefined {
  if (!(e instanceof NxError) || e.code !== "doctor.findings") return undefined;
  const report = (e.details as { report?: DoctorReport } | undefined)?.report;
  return Array.isArray(report?.findings) ? report : undefined;
}

export function doctorCommand() {
  return rootCommand(
    withRegistryUrl(withCommon(
      new Command("doctor")
        .description(
          "check every installed file, the current links, registry vs tree, staging leftovers; exit non-zero on any problem",
        )
        .option(
          "--repair",
          "fix what can be fixed safely (leftovers, orphans, current links), say what was done, then check again",
        ),
    )),
    DOCTOR,
  );
}
