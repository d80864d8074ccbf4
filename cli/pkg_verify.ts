import { Command } from "@commander-js/extra-typings";
import { runVerb, withCommon } from "./common.ts";
import { renderBundle } from "./render/bundle.ts";

export function verifyCommand() {
  return withCommon(
    new Command("verify")
      .description(
        "verify a bundle's structure, digests, signatures and publisher against the root's policy",
      )
      .argument("<bundle>", "bundle directory (<name>.nxb)"),
  ).action((bundle, opts) =>
    runVerb(opts, async (ctx) => {
      const { verifyAt } = await import("../core/pkgr/verify.ts");
      const v = await verifyAt(bundle, ctx);
      return {
        message: `verified ${v.manifest.name}@${v.manifest.version}`,
        data: v,
        human: `ok: ${v.manifest.name}@${v.manifest.version} verified\n${renderBundle(bundle, v)}`,
      };
    })
  );
}
