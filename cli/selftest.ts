/**
 * `nx selftest`: the fixture scenario (core/selftest) against a root — the local one (`--root`),
 * or an agent's (`--transport`: the bundles are uploaded from here, the migration runs on the
 * agent's side; several targets run it on each). Every step is an ordinary `Pkgr` call, checked
 * after it returned; the `SELFTEST: …` markers (with `--markers`) come only after their check.
 *
 * Not a root command: it is a sequence of method calls, as `demo` is. In a QEMU guest, init runs
 * it on the guest's own root at boot when the kernel command line has `nx.selftest=1`.
 */
import { Command } from "@commander-js/extra-typings";
import { fileURLToPath } from "node:url";
import type { CallContext, Pkgr } from "../core/api/mod.ts";
import { type CommonOptions, runVerb, withCommon } from "./common.ts";
import { type RemoteOptions, runRemote, runsLocally, withTransport } from "./remote.ts";
import type { CommandResult } from "./render/envelope.ts";

/** The repository's fixtures (in a guest, /nx/repo/fixtures): beside cli/ and build/. */
const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

type Opts = CommonOptions & RemoteOptions & { fixtures?: string };

async function selftest(opts: Opts, pkgr: Pkgr, call: CallContext, local: boolean) {
  const { runSelftest } = await import("../core/selftest/mod.ts");
  const fixtures = opts.fixtures ?? FIXTURES;
  const report = await runSelftest({ pkgr, call, fixtures, local });
  const markers = report.steps.filter((s) => s.marker).length;
  return {
    message: `selftest ok: ${report.steps.length} steps passed, ${markers} markers`,
    data: { fixtures, local, steps: report.steps },
    human: [...report.steps.map((s) => `ok  ${s.name}`), `selftest ok: ${markers} markers`]
      .join("\n"),
  } satisfies CommandResult;
}

export function selftestCommand() {
  const cmd = withTransport(withCommon(
    new Command("selftest")
      .description(
        "install, upgrade, roll back and uninstall the fixture apps on a root, checking each step " +
          "(prints SELFTEST markers); leaves the root as it found it",
      )
      .option(
        "--fixtures <dir>",
        "the folder with bundles/<app>-<version>.nxb (default: the fixtures/ of this nx)",
      ),
  ));
  return cmd.action((opts: Opts) => {
    if (runsLocally(opts, (n) => Deno.env.get(n))) {
      return runVerb(opts, async (ctx) => {
        const { pkgrFor } = await import("./service.ts");
        const pkgr = await pkgrFor(ctx.paths, {}, true);
        return await selftest(opts, pkgr, { now: ctx.now, reporter: ctx.reporter }, true);
      }, { session: true });
    }
    return runRemote(opts, (pkgr, call) => selftest(opts, pkgr, call, false));
  });
}
