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
import {
  denoRun,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";

const SUITE = "startup";

async function treeBytes(dir: string): Promise<number> {
  return await totalBytes(dir, await listFiles(dir));
}

export const startupSuite: Suite = {
  name: SUITE,
  summary: "nx --version vs deno run of an empty file; first runs on a cold Deno cache",
  async run(ctx) {
    const big = ctx.big;
    const empty = join(ctx.scratch, "empty.ts");
    await Deno.writeTextFile(empty, "// start-up baseline: does nothing\n");
    const root = await trustedRoot(ctx.scratch);
    const version = nxCmd(["--version"]);
    const verify = nxCmd(["pkg", "verify", big.bundle, "--root", root, "--json"]);
    const startup = denoRun(empty);

    /** What a cold run left in its DENO_DIR (bytes), to show it really started empty. */
    const cachedBytes: Record<string, number> = {};
    /** `c` with a fresh DENO_DIR made before the run and removed after it (both untimed). */
    const cold = (key: string, c: Cmd) => async () => {
      const dir = await Deno.makeTempDir({ dir: ctx.scratch, prefix: "deno-dir-" });
      const run = await runProcess({ ...c, env: { ...c.env, DENO_DIR: dir } });
      if (c === verify) expectOkEnvelope(run.stdout, "nx pkg verify on a cold Deno cache");
      cachedBytes[key] = await treeBytes(dir);
      await Deno.remove(dir, { recursive: true });
      return run.ms;
    };

    ctx.log("startup: whole processes, warm cache and fresh DENO_DIR per cold sample");
    const ms = (c: Cmd) => async () => (await runProcess(c)).ms;
    const whole = await sample(ctx.plan, {
      version: ms(version),
      startup: ms(startup),
      verify: ms(verify),
      coldVersion: cold("version", version),
      coldVerify: cold("verify", verify),
    });
    const coldNote = (key: string) =>
      `each cold sample ran with a new empty DENO_DIR; the last one left ` +
      `${mib(cachedBytes[key])} in it (node_modules is the repository's, not the cache's)`;
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
        notes: ["no target: reported only", coldNote("version")],
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
        notes: ["no target: reported only", coldNote("verify")],
      }),
    ];
  },
};
