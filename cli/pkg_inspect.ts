import { Command } from "@commander-js/extra-typings";
import { runVerb, withCommon } from "./common.ts";
import { renderInspect } from "./render/bundle.ts";

export function inspectCommand() {
  return withCommon(
    new Command("inspect")
      .description(
        "show a bundle's manifest, digests, sizes and signer, and whether the root trusts it",
      )
      .argument("<bundle>", "bundle directory (<name>.nxb)")
      .option("--files", "list every file with its size and SHA-256"),
  ).action((bundle, opts) =>
    runVerb(opts, async (ctx) => {
      const { inspectAt } = await import("../core/pkgr/verify.ts");
      const report = await inspectAt(bundle, ctx);
      return {
        message: report.verified ? "inspected; verification ok" : `inspected; verification failed`,
        data: report,
        human: renderInspect(bundle, report, opts.files === true),
      };
    })
  );
}
