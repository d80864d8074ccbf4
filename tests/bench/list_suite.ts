/**
 * `nx pkg list --json` on a root with 1,000 installed apps (_apps_root.ts, shared with the doctor
 * suite) against `nx --version` (start-up and nx's module graph, no work). Target (whole
 * process): ratio ≤ 1.5×. Info: list on a root with one app, and the registry's list() alone.
 */
import { silentReporter } from "../../core/pkgr/context.ts";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { openRegistry, registryUrlForFile } from "../../core/registry/mod.ts";
import { rootPaths } from "../../core/store/root.ts";
import { appCount, appsRoot } from "./_apps_root.ts";
import { DENO_FLOOR_TEXT, denoFloorCmd } from "./_deno_floor.ts";
import { metric, type Outcome, runProcess, sample, type Suite, timed } from "./_measure.ts";
import { expectOkEnvelope, fixtureBundle, nxCmd, nxOk, trustedRoot } from "./_nx.ts";

const SUITE = "list";

export const listSuite: Suite = {
  name: SUITE,
  summary: `nx pkg list --json on a root with ${appCount(false)} apps vs nx --version`,
  async run(ctx) {
    const apps = appCount(ctx.quick);
    ctx.log(`list: the root with ${apps} apps (prepared once per run, untimed)`);
    const { root, real, clones, prepMs } = await appsRoot(ctx.shared, apps);
    ctx.log(
      `list: root ready, prepared in ${(prepMs / 1000).toFixed(1)} s ` +
        `(${real.length} installed through the CLI, ${clones.length} cloned)`,
    );

    const list = nxCmd(["pkg", "list", "--root", root, "--json"]);
    const version = nxCmd(["--version"]);
    // The part of list's cost that does not grow with the apps: a root with notes alone.
    const oneRoot = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    await nxOk(["pkg", "install", fixtureBundle("notes-1.0.0")], oneRoot);
    const listOne = nxCmd(["pkg", "list", "--root", oneRoot, "--json"]);
    const listed = await runProcess(list);
    expectOkEnvelope(listed.stdout, "nx pkg list");
    const shown = JSON.parse(listed.stdout).data.apps as { id: string }[];
    if (shown.length !== apps) {
      throw new Error(`cannot measure list: it shows ${shown.length} apps, not ${apps}`);
    }

    const denoFloor = denoFloorCmd("list", `${root}/pkg/registry.db`);
    const rows = JSON.parse((await runProcess(denoFloor)).stdout) as unknown[];
    if (rows.length !== apps) {
      throw new Error(`cannot use the Deno floor: it read ${rows.length} rows, not ${apps}`);
    }

    ctx.log("list: whole processes");
    const whole = await sample(ctx.plan, {
      list: async () => (await runProcess(list)).ms,
      version: async () => (await runProcess(version)).ms,
      one: async () => (await runProcess(listOne)).ms,
      deno: async () => (await runProcess(denoFloor)).ms,
    });
    ctx.log("list: in-process createPkgr().list() and the registry's list() alone");
    const paths = rootPaths(root);
    const inProcess = await sample(ctx.plan, {
      pkgr: () =>
        timed(() =>
          createPkgr({ root: paths }).list({}, { reporter: silentReporter, now: new Date() })
        ),
      registry: () =>
        timed(async () => {
          const registry = await openRegistry(registryUrlForFile(paths.registryDb), {
            readOnly: true,
          });
          try {
            await registry.list();
          } finally {
            registry.close();
          }
        }),
    });
    const versionFloor = "bin/nx --version: start-up + nx module graph, no work";
    const outcomes: Outcome[] = [
      metric({
        suite: SUITE,
        name: `list --json with ${apps} apps vs nx --version`,
        unit: "ms",
        nxLabel: `bin/nx pkg list --root <root with ${apps} apps> --json ` +
          "(in-process: createPkgr().list() from core/pkgr/pkgr.ts, warm JIT)",
        wholeProcess: whole.list,
        inProcess: inProcess.pkgr,
        floorLabel: versionFloor,
        floor: whole.version,
        target: { kind: "max_ratio", max: 1.5, appliesTo: "whole-process" },
        bound: { label: DENO_FLOOR_TEXT.list, samples: whole.deno },
        notes: [
          `${real.length} apps installed through the CLI (${real.join(", ")}, notes upgraded to ` +
          `1.1.0); ${clones.length} clones of notes' registry record and tree (copies)`,
          `list printed ${listed.stdout.length} bytes of JSON`,
        ],
      }),
      metric({
        suite: SUITE,
        name: "list --json with 1 app vs nx --version",
        unit: "ms",
        nxLabel: "bin/nx pkg list --root <root with notes only> --json: " +
          "start-up, service + libSQL load, registry open, one app",
        wholeProcess: whole.one,
        floorLabel: versionFloor,
        floor: whole.version,
        notes: ["no target: the part of list's cost that does not depend on the apps"],
      }),
      metric({
        suite: SUITE,
        name: `registry list() of ${apps} apps (in-process)`,
        unit: "ms",
        nxLabel:
          "openRegistry(read-only) + list() + close() from core/registry/mod.ts, warm JIT: " +
          "both queries and every row's JSON (files, manifest) parsed",
        inProcess: inProcess.registry,
        floorLabel: versionFloor,
        floor: whole.version,
      }),
    ];
    return outcomes;
  },
};
