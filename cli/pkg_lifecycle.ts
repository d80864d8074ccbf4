/** `nx pkg install | upgrade | rollback | uninstall`: the state-changing verbs. */
import { Command } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import type { OpResult } from "../core/api/mod.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { opMessage, renderOp } from "./render/lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";
import type { CommandResult } from "./render/envelope.ts";

/** The options every lifecycle verb takes (withCommon, --registry-url, --dry-run). */
export type Opts = CommonOptions & { registryUrl?: string; dryRun?: true };
type BundleOpts = Opts & { allowDowngrade?: true };
type InstallOpts = BundleOpts & { reinstall?: true };

/** A lifecycle verb's options; `dryRun` words what its dry run shows. */
export const lifecycle = <A extends unknown[], O extends Record<string, unknown>>(
  cmd: Command<A, O>,
  dryRun = "print the plan and the permission diff; change nothing",
) => withRegistryUrl(withCommon(cmd)).option("--dry-run", dryRun);

/** The output of every operation result (install … uninstall, repair, clear-data). */
export const render = (result: OpResult): CommandResult => ({
  message: opMessage(result),
  data: result,
  human: renderOp(result),
});

export const INSTALL: RootCommand<"install", [bundle: string, opts: InstallOpts]> = {
  method: "install",
  toRequest: (bundle, opts) => ({
    bundle: { kind: "path", path: bundle },
    dryRun: opts.dryRun === true,
    allowDowngrade: opts.allowDowngrade === true,
    ...(opts.reinstall === true ? { reinstall: true } : {}),
  }),
  render,
};

export const UPGRADE: RootCommand<"upgrade", [bundle: string, opts: BundleOpts]> = {
  method: "upgrade",
  toRequest: (bundle, opts) => ({
    bundle: { kind: "path", path: bundle },
    dryRun: opts.dryRun === true,
    allowDowngrade: opts.allowDowngrade === true,
  }),
  render,
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

type UninstallOpts = Opts & { keepData?: true; purge?: true };

export const UNINSTALL: RootCommand<"uninstall", [app: string, opts: UninstallOpts]> = {
  method: "uninstall",
  toRequest: (app, opts) => {
    if (opts.keepData && opts.purge) {
      throw new NxError(
        "usage.invalid_argument",
        "cannot uninstall: --keep-data and --purge contradict each other",
        { hint: "the data is kept by default; --purge deletes it" },
      );
    }
    return {
      app,
      ...(opts.keepData === true ? { keepData: true } : {}),
      ...(opts.purge === true ? { purge: true } : {}),
      dryRun: opts.dryRun === true,
    };
  },
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
        )
        .option(
          "--reinstall",
          "the app is installed at this version: put its files back from the bundle",
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
        .description("unregister and remove an app atomically (its data stays unless --purge)")
        .argument("<app>", "app id")
        .option("--purge", "delete its data too (apps/<app>/data)")
        .option("--keep-data", "keep apps/<app>/data for a later install (the default)"),
    ),
    UNINSTALL,
  );
}
