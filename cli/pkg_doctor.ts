import { Command } from "@commander-js/extra-typings";
import type { DoctorReport } from "../core/api/mod.ts";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, runVerb, withCommon } from "./common.ts";
import { renderDoctor, renderProblems } from "./render/doctor.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";
import { withRegistryUrl } from "./service.ts";

type Opts = CommonOptions & { registryUrl?: string; repair?: true };

export const DOCTOR: RootCommand<"doctor", [opts: Opts]> = {
  method: "doctor",
  toRequest: (opts) => ({ repair: opts.repair === true }),
  // Findings fail the command (doctor.findings, the report in its details): a result is clean.
  render: (report) => ({ message: "no problems", data: report, human: renderDoctor(report) }),
};

/** The report a `doctor.findings` failure carries (`details.report`). */
function reportOf(e: unknown): DoctorReport | undefined {
  if (!(e instanceof NxError) || e.code !== "doctor.findings") return undefined;
  const report = (e.details as { report?: DoctorReport } | undefined)?.report;
  return Array.isArray(report?.findings) ? report : undefined;
}

export function doctorCommand() {
  const cmd = rootCommand(
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
  // As rootCommand runs it, plus: a failed check is data too. The human run lists the problems by
  // app on stdout, then the error (summary and next step) on stderr; `--json` has them in the
  // error's details.report, as before.
  return cmd.action((opts) =>
    runVerb(opts, async (ctx) => {
      const { pkgrFor } = await import("./service.ts");
      const pkgr = await pkgrFor(ctx.paths, opts, true);
      try {
        const request = await DOCTOR.toRequest(opts);
        const call = { now: ctx.now, reporter: ctx.reporter };
        return DOCTOR.render(await pkgr.doctor(request, call), opts);
      } catch (e) {
        const report = reportOf(e);
        if (report && !ctx.out.options.json) ctx.out.stdout(renderProblems(ctx.paths.root, report));
        throw e;
      }
    })
  );
}
