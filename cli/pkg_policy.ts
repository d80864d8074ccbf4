import { Command } from "@commander-js/extra-typings";
import type { Policy } from "../core/api/mod.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { keyValues } from "./render/text.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

function renderPolicy(p: Policy): string {
  return keyValues(
    Object.entries(p).map((
      [k, v],
    ) => [k.replaceAll("_", "-"), typeof v === "boolean" ? (v ? "on" : "off") : v]),
  );
}

export const POLICY_SHOW: RootCommand<"policyShow", [opts: CommonOptions]> = {
  method: "policyShow",
  toRequest: () => ({}),
  render: (p) => ({ message: `policy mode ${p.mode}`, data: p, human: renderPolicy(p) }),
};

export const POLICY_SET: RootCommand<
  "policySet",
  [key: string, value: string, opts: CommonOptions]
> = {
  method: "policySet",
  toRequest: (key, value) => ({ key, value }),
  render: (p, key) => ({ message: `set ${key}`, data: p, human: renderPolicy(p) }),
};

export function policyCommand() {
  const policy = new Command("policy").description(
    "show or change the root's policy (pkg/policy.toml)",
  );
  policy.addCommand(
    rootCommand(
      withCommon(new Command("show").description("print the policy in force")),
      POLICY_SHOW,
    ),
  );
  policy.addCommand(rootCommand(
    withCommon(
      new Command("set")
        .description("set one policy key (see `nx pkg policy show` for the keys)")
        .argument("<key>", "policy key, e.g. mode or dev-mode")
        .argument("<value>", "new value: on|off for switches, a number, or a word such as strict"),
    ),
    POLICY_SET,
  ));
  return policy;
}
