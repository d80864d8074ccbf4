/** `nx pkg install | upgrade | rollback | uninstall`: the state-changing verbs. */
import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, runVerb, type VerbContext, withCommon } from "./common.ts";
import { pkgrFor, withRegistryUrl } from "./service.ts";
import { opMessage, renderOp } from "./render/lifecycle.ts";
import type { OpResult, Pkgr } from "../core/pkgr/mod.ts";

type Opts = CommonOptions & { registryUrl?: string; dryRun?: true };

function run(
  opts: Opts,
  op: (pkgr: Pkgr, ctx: VerbContext) => Promise<OpResult>,
) {
  return runVerb(opts, async (ctx) => {
    const result = await op(await pkgrFor(ctx, opts), ctx);
    return { message: opMessage(result), data: result, human: renderOp(result) };
  });
}

const lifecycle = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  withRegistryUrl(withCommon(cmd)).option(
    "--dry-run",
    "print the plan and the permission diff; change nothing",
  );

export function installCommand() {
  return lifecycle(
    new Command("install")
      .description("verify and install a bundle as a new app")
      .argument("<bundle>", "bundle directory (<name>.nxb)")
      .option(
        "--allow-downgrade",
        "adopt data kept from a newer version (dev-mode must be on too)",
      ),
  ).action((bundle, opts) =>
    run(
      opts,
      (p) =>
        p.install({
          bundle,
          dryRun: opts.dryRun === true,
          allowDowngrade: opts.allowDowngrade === true,
        }),
    )
  );
}

export function upgradeCommand() {
  return lifecycle(
    new Command("upgrade")
      .description("upgrade an installed app to a greater version (migrating its data)")
      .argument("<bundle>", "bundle directory (<name>.nxb)")
      .option("--allow-downgrade", "permit a lower version (the root's dev-mode must be on too)"),
  ).action((bundle, opts) =>
    run(
      opts,
      (p) =>
        p.upgrade({
          bundle,
          dryRun: opts.dryRun === true,
          allowDowngrade: opts.allowDowngrade === true,
        }),
    )
  );
}

export function rollbackCommand() {
  return lifecycle(
    new Command("rollback")
      .description("re-activate a retained previous version and its data")
      .argument("<app>", "app id")
      .option("--to <version>", "the retained version to activate (default: the most recent one)"),
  ).action((app, opts) =>
    run(opts, (p) => p.rollback({ app, to: opts.to, dryRun: opts.dryRun === true }))
  );
}

export function uninstallCommand() {
  return lifecycle(
    new Command("uninstall")
      .description("unregister and remove an app atomically")
      .argument("<app>", "app id")
      .option("--keep-data", "keep apps/<app>/data for a later reinstall"),
  ).action((app, opts) =>
    run(
      opts,
      (p) => p.uninstall({ app, keepData: opts.keepData === true, dryRun: opts.dryRun === true }),
    )
  );
}
