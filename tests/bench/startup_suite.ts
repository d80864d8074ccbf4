/**
 * Start-up, whole process:
 *
 * - `nx --version` (bin/nx, the launcher users run) against `deno run` of an empty file with the
 *   same Deno, permissions and config: what nx adds to Deno's own start-up. Target: ≤ 2×.
 * - the first run after a cold Deno cache: each sample gets a fresh, empty DENO_DIR (so Deno has
 *   to load, transpile and cache nx's modules again, as after an install or a Deno upgrade),
 *   for `nx --version` and `nx pkg verify big-1.0.0.nxb`, each against the same command on the
 *   warm cache. No target: reported only.
 */
import { join } from "node:path";
import { type Cmd, metric, runProcess, sample, type Suite } from "./_measure.ts";
import { BIG_BUNDLE, denoRun, expectOkEnvelope, nxCmd, trustedRoot } from "./_nx.ts";

const SUITE = "startup";

export const startupSuite: Suite = {
  name: SUITE,
  summary: "nx --version vs deno run of an empty file; first runs on a cold Deno cache",
  async run(ctx) {
    const empty = join(ctx.scratch, "empty.ts");
    await Deno.writeTextFile(empty, "// start-up baseline: does nothing\n");
    const root = await trustedRoot(ctx.scratch);
    const version = nxCmd(["--version"]);
    const verify = nxCmd(["pkg", "verify", BIG_BUNDLE, "--root", root, "--json"]);
    const startup = denoRun(empty);
    for (const c of [version, startup]) await runProcess(c);
    expectOkEnvelope((await runProcess(verify)).stdout, "nx pkg verify");

    /** `c` with a fresh DENO_DIR made before the run and removed after it (both untimed). */
    const cold = (c: Cmd) => async () => {
      const dir = await Deno.makeTempDir({ dir: ctx.scratch, prefix: "deno-dir-" });
      const ms = (await runProcess({ ...c, env: { ...c.env, DENO_DIR: dir } })).ms;
      await Deno.remove(dir, { recursive: true });
      return ms;
    };
    const cachedDir = join(ctx.scratch, "cold-check");
    await Deno.mkdir(cachedDir);
    const check = await runProcess({ ...verify, env: { ...verify.env, DENO_DIR: cachedDir } });
    expectOkEnvelope(check.stdout, "nx pkg verify on a cold Deno cache");
    let cachedEntries = 0;
    for await (const _ of Deno.readDir(cachedDir)) cachedEntries++;
    await Deno.remove(cachedDir, { recursive: true });

    ctx.log("startup: whole processes, warm cache and fresh DENO_DIR per cold sample");
    const ms = (c: Cmd) => async () => (await runProcess(c)).ms;
    const whole = await sample(ctx.plan, {
      version: ms(version),
      startup: ms(startup),
      verify: ms(verify),
      coldVersion: cold(version),
      coldVerify: cold(verify),
    });
    const coldNote = `each cold sample ran with a new empty DENO_DIR (the check run left ` +
      `${cachedEntries} entr${cachedEntries === 1 ? "y" : "ies"} in it); node_modules stays`;
    return [
      metric({
        suite: SUITE,
        name: "nx --version vs deno run of an empty file",
        unit: "ms",
        nxLabel: "bin/nx --version (the launcher: Deno + nx's start-up modules)",
        wholeProcess: whole.version,
        floorLabel: "deno run <nx's perms> empty.ts with the same Deno, from the repository " +
          "(its deno.json and lock)",
        floor: whole.startup,
        target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
      }),
      metric({
        suite: SUITE,
        name: "nx --version, first run on a cold Deno cache vs warm",
        unit: "ms",
        nxLabel: "DENO_DIR=<fresh empty dir> bin/nx --version",
        wholeProcess: whole.coldVersion,
        floorLabel: "bin/nx --version on the warm cache, same iterations",
        floor: whole.version,
        notes: ["no target: reported only", coldNote],
      }),
      metric({
        suite: SUITE,
        name: "nx pkg verify big, first run on a cold Deno cache vs warm",
        unit: "ms",
        nxLabel: "DENO_DIR=<fresh empty dir> bin/nx pkg verify big-1.0.0.nxb --root <trusted> " +
          "--json",
        wholeProcess: whole.coldVerify,
        floorLabel: "the same verify on the warm cache, same iterations",
        floor: whole.verify,
        notes: ["no target: reported only", coldNote],
      }),
    ];
  },
};
