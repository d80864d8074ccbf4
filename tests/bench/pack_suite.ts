/**
 * `nx pkg pack` of fixtures/src/big-1.0.0 (signed with the dev key) against copying and hashing
 * the same source: `cp -r` + one `sha256sum`, both processes summed. Target (whole process):
 * ratio ≤ 2.5×.
 *
 * nx fsyncs every file and directory it publishes; `cp` does not. A second, informational floor
 * adds `sync <copied files and dirs>` (coreutils fsyncs each named path) to show what durability
 * costs on this disk.
 */
import { join } from "node:path";
import { silentReporter } from "../../core/pkgr/context.ts";
import { loadSecretKey } from "../../core/pkgr/keys.ts";
import { pack } from "../../core/pkgr/pack.ts";
import { DENO_FLOOR_TEXT, denoFloorCmd } from "./_deno_floor.ts";
import { lazyCompiles } from "./_lazy_compile.ts";
import { preloadedCmd, preloadedMs, startUpSplit } from "./_start_up_split.ts";
import {
  canRun,
  type Cmd,
  firstCalls,
  metric,
  runProcess,
  sample,
  type Side,
  type Suite,
  timed,
} from "./_measure.ts";
import {
  DEV_KEY,
  directoriesOf,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  sha256sumCmd,
  totalBytes,
} from "./_nx.ts";

export const packSuite: Suite = {
  name: "pack",
  summary: "nx pkg pack big-1.0.0 vs cp -r + sha256sum of the same source",
  async run(ctx) {
    const big = ctx.big;
    const files = await listFiles(big.src);
    const bytes = await totalBytes(big.src, files);
    const hash = sha256sumCmd(big.src, files);
    const withSync = await canRun("sync");
    let seq = 0;
    const fresh = async (label: string) => {
      const dir = join(ctx.scratch, `${label}-${seq++}`);
      await Deno.mkdir(dir);
      return dir;
    };
    const packArgs = (
      out: string,
    ) => ["pkg", "pack", big.src, "--key", DEV_KEY, "--out", out, "--force", "--json"];
    const packCmd = (out: string): Cmd => nxCmd(packArgs(out));

    // Each iteration writes to a fresh directory (removed afterwards, untimed) on every side.
    const copyAndHash = async (durable: boolean) => {
      const dir = await fresh(durable ? "cp-sync" : "cp");
      const copy = join(dir, "big-1.0.0");
      let ms = (await runProcess({ cmd: "cp", args: ["-r", "--", big.src, copy] })).ms;
      ms += (await runProcess(hash)).ms;
      if (durable) {
        // The copied files, every directory of the copy, and the directory holding it.
        const paths = [...files, ...directoriesOf(files), ".."];
        ms += (await runProcess({ cmd: "sync", args: ["--", ...paths], cwd: copy })).ms;
      }
      await Deno.remove(dir, { recursive: true });
      return ms;
    };

    ctx.log(`pack: ${files.length} files, ${mib(bytes)}; whole processes`);
    const firstTime = firstCalls();
    const sides: Record<string, Side> = {
      nx: async () => {
        const dir = await fresh("nx");
        const run = await runProcess(packCmd(join(dir, "big.nxb")));
        // The first sample also checks, untimed, that it packed every source file.
        if (firstTime("nx")) {
          expectOkEnvelope(run.stdout, "nx pkg pack");
          const packed = await listFiles(join(dir, "big.nxb"));
          const expected = files.filter((f) => f !== "manifest.toml");
          if (expected.some((f) => !packed.includes(f))) {
            throw new Error(
              `cannot measure pack: the bundle lacks source files (${packed.length})`,
            );
          }
        }
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
      floor: () => copyAndHash(false),
      // The same pack with every module of build/ loaded before its clock starts.
      preloaded: async () => {
        const dir = await fresh("preloaded");
        const run = await runProcess(preloadedCmd(packArgs(join(dir, "big.nxb"))));
        if (firstTime("preloaded")) expectOkEnvelope(run.stdout, "the preloaded pack");
        await Deno.remove(dir, { recursive: true });
        return preloadedMs(run);
      },
      deno: async () => {
        const dir = await fresh("deno");
        const run = await runProcess(
          denoFloorCmd("pack", big.src, join(dir, "stage"), join(dir, "big.nxb")),
        );
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
    };
    if (withSync) sides.durable = () => copyAndHash(true);
    const whole = await sample(ctx.plan, sides);

    ctx.log("pack: in-process pack()");
    const key = await loadSecretKey(DEV_KEY);
    const inProcess = await sample(ctx.plan, {
      nx: async () => {
        const dir = await fresh("inproc");
        const request = { source: big.src, out: join(dir, "big.nxb"), key, force: true };
        const ms = await timed(() => pack({ ...request, sourceDateEpoch: 0 }, silentReporter));
        await Deno.remove(dir, { recursive: true });
        return ms;
      },
    });

    const lazy = await lazyCompiles(
      async () => packArgs(join(await fresh("lazy"), "big.nxb")),
      ctx.scratch,
    );

    const name = `pack big-1.0.0 (${files.length} files, ${mib(bytes)})`;
    const nxLabel = "bin/nx pkg pack <src> --key dev.key --out <fresh> " +
      "--force --json (in-process: pack() from core/pkgr/pack.ts, warm JIT)";
    const notes = [
      "nx fsyncs each written file and directory; the floor does not",
      ...(withSync ? [] : ["`sync` not found: the durable floor was skipped"]),
    ];
    const floorLabel =
      "cp -r <src> <fresh> + sha256sum over the source files (2 processes, summed)";
    const metrics = [
      metric({
        suite: "pack",
        name,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess: inProcess.nx,
        floorLabel,
        floor: whole.floor,
        target: { kind: "max_ratio", max: 2.5, appliesTo: "whole-process" },
        bound: { label: DENO_FLOOR_TEXT.pack, samples: whole.deno },
        notes,
      }),
      startUpSplit({
        suite: "pack",
        command: "pkg pack <src> --key dev.key --out <fresh> --force --json",
        whole: whole.nx,
        preloaded: whole.preloaded,
        warm: inProcess.nx,
        lazy,
        floorLabel,
        floor: whole.floor,
      }),
    ];
    if (withSync) {
      metrics.push(metric({
        suite: "pack",
        name: `${name}, durable floor`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess: inProcess.nx,
        floorLabel: "cp -r + sha256sum + sync <every copied file and dir> (3 processes, summed)",
        floor: whole.durable,
        notes: ["no target: shows what the fsyncs cost against an equally durable copy"],
      }));
    }
    return metrics;
  },
};
