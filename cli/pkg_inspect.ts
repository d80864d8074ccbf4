import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { renderInspect } from "./render/bundle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const INSPECT: RootCommand<
  "inspect",
  [bundle: string, opts: CommonOptions & { files?: true }]
> = {
  method: "inspect",
  toRequest: (bundle) => ({ bundle: { kind: "path", path: bundle } }),
  render: (report, bundle, opts) => ({
    message: report.verified ? "inspected; verification ok" : `inspected; verification failed`,
    data: report,
    human: renderInspect(bundle, report, opts.files === true),
  }),
};

export function inspectCommand() {
  return rootCommand(
    withCommon(
      new Command("inspect")
        .description(
          "show a bundle's manifest, digests, sizes and signer, and whether the root trusts it",
        )
        .argument("<bundle>", "bundle directory (<name>.nxb)")
        .option("--files", "list every file with its size and SHA-256"),
    ),
    INSPECT,
  );
}
