import { Command } from "@commander-js/extra-typings";
import type { Policy } from "../core/trust/mod.ts";
import { runVerb, withCommon } from "./common.ts";
import { keyValues } from "./render/text.ts";

function renderPolicy(p: Policy): string {
  return keyValues(
    Object.entries(p).map((
      [k, v],
    ) => [k.replaceAll("_", "-"), typeof v === "boolean" ? (v ? "on" : "off") : v]),
  );
}

export function policyCommand() {
  const policy = new Command("policy").description(
    "show or change the root's policy (pkg/policy.toml)",
  );
  policy.addCommand(
    withCommon(new Command("show").description("print the policy in force")).action((opts) =>
      runVerb(opts, async (ctx) => {
        const { policyShow } = await import("../core/pkgr/trust_admin.ts");
        const p = await policyShow(ctx.paths);
        return { message: `policy mode ${p.mode}`, data: p, human: renderPolicy(p) };
      })
    ),
  );
  policy.addCommand(
    withCommon(
      new Command("set")
        .description("set one policy key (see `nx pkg policy show` for the keys)")
        .argument("<key>", "policy key, e.g. mode or dev-mode")
        .argument("<value>", "new value: on|off for switches, a number, or a word such as strict"),
    ).action((key, value, opts) =>
      runVerb(opts, async (ctx) => {
        const { policySet } = await import("../core/pkgr/trust_admin.ts");
        const p = await policySet(ctx.paths, key, value);
        return { message: `set ${key}`, data: p, human: renderPolicy(p) };
      })
    ),
  );
  return policy;
}
