import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { renderBundle } from "./render/bundle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const VERIFY: RootCommand<"verify", [bundle: string, opts: CommonOptions]> = {
  method: "verify",
  toRequest: (bundle) => ({ bundle: { kind: "path", path: bundle } }),
  render: (v, bundle) => ({
    message: `verified ${v.manifest.name}@${v.manifest.version}`,
    data: v,
    human: `ok: ${v.manifest.name}@${v.manifest.version} verified\n${renderBundle(bundle, v)}`,
  }),
};

export function verifyCommand() {
  return rootCommand(
    withCommon(
      new Command("verify")
        .description(
          "verify a bundle's structure, digests, signatures and publisher against the root's policy",
        )
        .argument("<bundle>", "bundle directory (<name>.nxb)"),
    ),
    VERIFY,
  );
}
