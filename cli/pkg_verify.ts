import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { renderBundle } from "./render/bundle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const VERIFY: RootCommand<"verify", [bundle: string, opts: CommonOptions]> = {
  method: "verify",
  toRequest: (bundle) => ({ bundle: { kind: "path", path: bundle } }),
  render: (v, bundle) => {
    const id = `${v.manifest.name}@${v.manifest.version}`;
    // A permissive or audit-only policy turned findings into warnings: not an "ok".
    const n = v.warnings.length;
    const withWarnings = `with ${n} warning${n === 1 ? "" : "s"}`;
    return {
      message: n === 0 ? `verified ${id}` : `verified ${id} ${withWarnings}`,
      data: v,
      human: `${n === 0 ? `ok: ${id} verified` : `${id} verified ${withWarnings}`}\n${
        renderBundle(bundle, v)
      }`,
    };
  },
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
