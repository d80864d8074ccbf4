/** `nx pkg install | upgrade | rollback | uninstall`: the state-changing verbs. */
import { Command } from "@commander-js/extra-typings";
import type { OpResult } from "../core/api/mod.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { opMessage, renderOp } from "./render/lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";
import type { CommandResult } from "./render/envelope.ts";

type Opts = CommonOptions & { registryUrl?: string; dryRun?: true };
type BundleOpts = Opts & { allowDowngrade?: true };

const lifecycle = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  withRegistryUrl(withCommon(cmd)).option(
    "--dry-run",
    "print the plan and the permission diff; change nothing",
  );

const render = (result: OpResult): CommandResult => ({
  message: opMessage(result),
  data: result,
  human: renderOp(result),
});

export const INSTALL: RootCommand<"install", [bundle: string, opts: BundleOpts]> = {
  method: "install",
  toRequest: (bundle, opts) => ({
    bundle: { kind: "path", path: bundle },
    dryRun: opts.dryRun === true,
    allowDowngrade: opts.allowDowngrade === true,
  }),
  render,
};

export const UPGRADE: RootCommand<"upgrade", [bundle: string, opts: BundleOpts]> = {
  ...INSTALL,
  method: "upgrade",
};

export const ROLLBACK: RootCommand<"rollback", [app: string, opts: Opts & { to?: string }]> = {
  method: "rollback",
  toRequest: (app, opts) => ({
    app,
    ...(opts.to !== undefined ? { to: opts.to } : {}),
    dryRun: opts.dryRun === true,
  }),
  render,
};

export const UNINSTALL: RootCommand<"uninstall", [app: string, opts: Opts & { keepData?: true }]> =
  {
    method: "uninstall",
    toRequest: (app, opts) => ({
      app,
      keepData: opts.keepData === true,
      dryRun: opts.dryRun === true,
    }),
    render,
  };

export function installCommand() {
  return rootCommand(
    lifecycle(
      new Command("install")
        .description("verify and install a bundle as a new app")
        .argument("<bundle>", "bundle directory (<name>.nxb)")
        .option(
          "--allow-downgrade",
          "adopt data kept from a newer version (dev-mode must be on too)",
        ),
    ),
    INSTALL,
  );
}

export function upgradeCommand() {
  return rootCommand(
    lifecycle(
      new Command("upgrade")
        .description("upgrade an installed app to a greater version (migrating its data)")
        .argument("<bundle>", "bundle directory (<name>.nxb)")
        .option("--allow-downgrade", "permit a lower version (the root's dev-mode must be on too)"),
    ),
    UPGRADE,
  );
}

export function rollbackCommand() {
  return rootCommand(
    lifecycle(
      new Command("rollback")
        .description("re-activate a retained previous version and its data")
        .argument("<app>", "app id")
        .option(
          "--to <version>",
          "the retained version to activate (default: the most recent one)",
        ),
    ),
    ROLLBACK,
  );
}

export function uninstallCommand() {
  return rootCommand(
    lifecycle(
      new Command("uninstall")
        .description("unregister and remove an app atomically")
        .argument("<app>", "app id")
        .option("--keep-data", "keep apps/<app>/data for a later reinstall"),
    ),
    UNINSTALL,
  );
}
