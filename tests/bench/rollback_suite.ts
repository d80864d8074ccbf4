/**
 * `nx pkg rollback <app>` must take constant time: it switches `current` back and rewrites the
 * registry record, copying nothing. Two apps, each packed here from fixtures/src/big-1.0.0 with
 * the dev key in versions 1.0.0 and 1.1.0:
 *
 * - big: the fixture itself (15 MiB payload + 240 × 4 KiB assets, ~16 MiB; smaller with
 *   --quick) and big-1.1.0 with a regenerated payload of the same size;
 * - small: the same manifest renamed, a 5 KiB payload and 2 of the 4 KiB assets: with the
 *   manifest and meta/ files, ~16 KiB and 8 files per version.
 *
 * Before each sample, untimed for the rollback: a fresh copy of a trusted root, then
 * `nx pkg install <app>-1.0.0` and `nx pkg upgrade <app>-1.1.0` through the CLI. Timed: only
 * `nx pkg rollback <app> --json`. Target (whole process): big ÷ small ≤ 1.3×.
 *
 * Info: the big rollback against the big install timed during the same preparation; and, in
 * process (roots prepared the same way through createPkgr(), untimed), where each rollback's
 * time goes (_split.ts), big against small part by part: rollback copies no file, but its
 * journal header (the plan, with the app's registry record before and after) and the record it
 * registers list every file of every retained version.
 */
import { join } from "node:path";
import { ELF_PAYLOAD_FILE } from "../../core/bundle/layout.ts";
import { type Reporter, silentReporter } from "../../core/pkgr/context.ts";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { openRegistry, registryUrlForFile } from "../../core/registry/mod.ts";
import { rootPaths } from "../../core/store/root.ts";
import { firstCalls, metric, type Outcome, runProcess, sample, type Suite } from "./_measure.ts";
import {
  cloneRoot,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  nxOk,
  packVariant,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";
import { partSamples, type Split, splitOp } from "./_split.ts";

const SUITE = "rollback";
const SMALL_ASSETS = ["assets/data/000.bin", "assets/data/001.bin"];

interface App {
  id: string;
  v1: string;
  v2: string;
}

export const rollbackSuite: Suite = {
  name: SUITE,
  summary: "nx pkg rollback of a 16 MiB app vs a 16 KiB app (constant time), vs install",
  async run(ctx) {
    ctx.log("rollback: packing big-1.1.0, small-1.0.0, small-1.1.0 (dev key)");
    const bundles = join(ctx.scratch, "bundles");
    await Deno.mkdir(bundles);
    const big: App = {
      id: "big",
      v1: ctx.big.bundle,
      v2: await packVariant(ctx.big.src, bundles, {
        name: "big",
        version: "1.1.0",
        payloadBytes: (await Deno.stat(join(ctx.big.bundle, ELF_PAYLOAD_FILE))).size,
      }),
    };
    const smallSpec = { name: "small", payloadBytes: 5 * 1024, keepAssets: SMALL_ASSETS };
    const small: App = {
      id: "small",
      v1: await packVariant(ctx.big.src, bundles, { ...smallSpec, version: "1.0.0" }),
      v2: await packVariant(ctx.big.src, bundles, { ...smallSpec, version: "1.1.0" }),
    };
    const bigFiles = await listFiles(big.v2);
    const smallFiles = await listFiles(small.v2);
    const bigBytes = await totalBytes(big.v2, bigFiles);
    const smallBytes = await totalBytes(small.v2, smallFiles);

    const template = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    let seq = 0;
    const installMs: number[] = [];
    /** A root with app at 1.1.0 (1.0.0 retained); times the install when asked. */
    const prepared = async (app: App, timeInstall: boolean) => {
      const dir = join(ctx.scratch, `${app.id}-${seq++}`);
      await Deno.mkdir(dir);
      const root = await cloneRoot(template, join(dir, "root"));
      const install = await runProcess(
        nxCmd(["pkg", "install", app.v1, "--root", root, "--json"]),
      );
      expectOkEnvelope(install.stdout, `nx pkg install ${app.id}`);
      if (timeInstall) installMs.push(install.ms);
      const upgrade = await runProcess(
        nxCmd(["pkg", "upgrade", app.v2, "--root", root, "--json"]),
      );
      expectOkEnvelope(upgrade.stdout, `nx pkg upgrade ${app.id}`);
      return { dir, root };
    };
    const rollback = (app: App, root: string) =>
      nxCmd(["pkg", "rollback", app.id, "--root", root, "--json"]);

    // The first sample of each app (the warmup, or the only one with --quick) also checks,
    // untimed, that the rollback landed on 1.0.0, and measures the registry record it rewrote.
    const recordBytes: Record<string, number> = {};
    const firstTime = firstCalls();
    const check = async (app: App, root: string, stdout: string) => {
      expectOkEnvelope(stdout, `rollback ${app.id}`);
      const registry = await openRegistry(registryUrlForFile(rootPaths(root).registryDb), {
        readOnly: true,
      });
      try {
        recordBytes[app.id] = JSON.stringify(await registry.get(app.id)).length;
      } finally {
        registry.close();
      }
      const listed = await nxOk(["pkg", "list"], root) as {
        apps: { id: string; version: string; retained: string[] }[];
      };
      const row = listed.apps.find((a) => a.id === app.id);
      const current = await Deno.readLink(join(root, "apps", app.id, "current"));
      if (row?.version !== "1.0.0" || current !== "versions/1.0.0") {
        throw new Error(`cannot measure rollback: ${JSON.stringify(listed)}, current ${current}`);
      }
    };
    const side = (app: App) => async () => {
      const { dir, root } = await prepared(app, app === big);
      const run = await runProcess(rollback(app, root));
      if (firstTime(app.id)) await check(app, root, run.stdout);
      await Deno.remove(dir, { recursive: true });
      return run.ms;
    };
    ctx.log("rollback: whole processes (each sample: install 1.0.0 + upgrade 1.1.0 untimed)");
    const whole = await sample(ctx.plan, { big: side(big), small: side(small) });
    // prepared(big, true) ran once per iteration, warmup included: drop the warmup installs.
    const installs = installMs.slice(ctx.plan.warmup);

    ctx.log("rollback: in-process createPkgr().rollback(), split (roots prepared in-process)");
    const splits: Record<string, Split[]> = { big: [], small: [] };
    const inProcessSide = (app: App) => async () => {
      const dir = join(ctx.scratch, `${app.id}-${seq++}`);
      await Deno.mkdir(dir);
      const paths = rootPaths(await cloneRoot(template, join(dir, "root")));
      const pkgr = createPkgr({ root: paths });
      const call = (reporter: Reporter) => ({ reporter, now: new Date() });
      const bundle = (path: string) => ({ kind: "path" as const, path });
      await pkgr.install({ bundle: bundle(app.v1) }, call(silentReporter));
      await pkgr.upgrade({ bundle: bundle(app.v2) }, call(silentReporter));
      const split = await splitOp((reporter) => pkgr.rollback({ app: app.id }, call(reporter)));
      splits[app.id].push(split);
      await Deno.remove(dir, { recursive: true });
      return split.total;
    };
    const inProcess = await sample(ctx.plan, {
      big: inProcessSide(big),
      small: inProcessSide(small),
    });
    const bigParts = partSamples(splits.big.slice(ctx.plan.warmup));
    const smallParts = partSamples(splits.small.slice(ctx.plan.warmup));

    const nxLabel = `bin/nx pkg rollback big --root <root> --json ` +
      `(big 1.1.0 → 1.0.0, ${mib(bigBytes)} per version)`;
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    const outcomes: Outcome[] = [
      metric({
        suite: SUITE,
        name: `rollback: ${mib(bigBytes)} app vs ${kib(smallBytes)} app`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.big,
        floorLabel: `bin/nx pkg rollback small --root <root> --json ` +
          `(small 1.1.0 → 1.0.0, ${smallBytes} bytes per version)`,
        floor: whole.small,
        target: { kind: "max_ratio", max: 1.3, appliesTo: "whole-process" },
        notes: [
          "each root: install 1.0.0 + upgrade 1.1.0 through the CLI before the sample, untimed",
          "rollback switches `current` and rewrites the registry record; the big record lists " +
          `${bigFiles.length} files per version, the small one ${smallFiles.length}`,
          `registry record as JSON: big ${kib(recordBytes.big)}, small ` +
          `${kib(recordBytes.small)}; the journal header holds it twice (before and after)`,
        ],
      }),
      metric({
        suite: SUITE,
        name: `rollback vs install of the same ${mib(bigBytes)} app`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.big,
        floorLabel: "bin/nx pkg install big-1.0.0.nxb --root <fresh " +
          "trusted root> --json, timed while preparing the same samples",
        floor: installs,
        notes: ["no target: reported only"],
      }),
      metric({
        suite: SUITE,
        name: `rollback in-process: ${mib(bigBytes)} app vs ${kib(smallBytes)} app`,
        unit: "ms",
        nxLabel: "createPkgr().rollback() of big (1.1.0 → 1.0.0), warm JIT",
        inProcess: inProcess.big,
        floorLabel: "createPkgr().rollback() of small, the same way, same iterations",
        floor: inProcess.small,
        notes: ["no target: the whole-process ratio above carries the target"],
      }),
    ];
    const labels: Record<string, string> = {
      "journal": "journal: create with the plan (both records), fsynced appends, remove",
      "step:switch-current": "switch-current step: temp symlink, rename over current, fsync",
      "step:commit-registry": "commit-registry step: register() of the whole record (FULL sync)",
      "rest": "the rest: session open (lock, registry), snapshot + plan, post-commit steps, " +
        "audit entry, session close",
    };
    for (const part of Object.keys(bigParts)) {
      if (!smallParts[part]) continue;
      outcomes.push(metric({
        suite: SUITE,
        name: `rollback split: ${part}, big vs small (in-process)`,
        unit: "ms",
        nxLabel: `${labels[part] ?? part}: big`,
        inProcess: bigParts[part],
        floorLabel: `the same part of the small app's rollback`,
        floor: smallParts[part],
      }));
    }
    return outcomes;
  },
};
