/**
 * `nx pkg verify` of the committed big-1.0.0.nxb against the floor: one `sha256sum` process over
 * every file of the same bundle. Target (whole process, what a user waits for): ratio ≤ 2×.
 * The Deno floor (deno_floor.ts) is sampled beside them: what any Deno program pays for the same
 * hashes.
 */
import { silentReporter } from "../../core/pkgr/context.ts";
import { verifyAt } from "../../core/pkgr/verify.ts";
import { rootPaths } from "../../core/store/root.ts";
import { DENO_FLOOR_TEXT, denoFloorCmd } from "./_deno_floor.ts";
import { lazyCompiles } from "./_lazy_compile.ts";
import { preloadedCmd, preloadedMs, startUpSplit } from "./_start_up_split.ts";
import { metric, runProcess, sample, type Suite, timed } from "./_measure.ts";
import {
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  sha256sumCmd,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";

export const verifySuite: Suite = {
  name: "verify",
  summary: "nx pkg verify big-1.0.0.nxb vs sha256sum over the same files",
  async run(ctx) {
    const big = ctx.big;
    const root = await trustedRoot(ctx.scratch);
    const files = await listFiles(big.bundle);
    const bytes = await totalBytes(big.bundle, files);
    const args = ["pkg", "verify", big.bundle, "--root", root, "--json"];
    const verify = nxCmd(args);
    const preloaded = preloadedCmd(args);
    const floor = sha256sumCmd(big.bundle, files);
    const denoFloor = denoFloorCmd("verify", big.bundle);

    expectOkEnvelope((await runProcess(verify)).stdout, "nx pkg verify");
    expectOkEnvelope((await runProcess(preloaded)).stdout, "the preloaded verify");
    const sums = (await runProcess(floor)).stdout.trim().split("\n");
    if (sums.length !== files.length) {
      throw new Error(`cannot use the floor: sha256sum printed ${sums.length} of ${files.length}`);
    }

    ctx.log(`verify: ${files.length} files, ${mib(bytes)}; whole processes`);
    const whole = await sample(ctx.plan, {
      nx: async () => (await runProcess(verify)).ms,
      floor: async () => (await runProcess(floor)).ms,
      deno: async () => (await runProcess(denoFloor)).ms,
      preloaded: async () => preloadedMs(await runProcess(preloaded)),
    });
    ctx.log("verify: in-process verifyAt()");
    const paths = rootPaths(root);
    const inProcess = await sample(ctx.plan, {
      nx: () =>
        timed(() => verifyAt(big.bundle, { paths, reporter: silentReporter, now: new Date() })),
    });

    const lazy = await lazyCompiles(() => Promise.resolve(args), ctx.scratch);

    const floorLabel = `sha256sum over all ${files.length} files of the same bundle, one process`;
    return [
      metric({
        suite: "verify",
        name: `verify big-1.0.0.nxb (${files.length} files, ${mib(bytes)})`,
        unit: "ms",
        nxLabel: "bin/nx pkg verify big-1.0.0.nxb --root <trusted> --json " +
          "(in-process: verifyAt() from core/pkgr/verify.ts in the bench process, warm JIT)",
        wholeProcess: whole.nx,
        inProcess: inProcess.nx,
        floorLabel,
        floor: whole.floor,
        target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
        bound: { label: DENO_FLOOR_TEXT.verify, samples: whole.deno },
        notes: [
          "verify also hashes the payload with SHA-512 (signature challenge) and checks " +
          "Ed25519 signatures; the floor only hashes with SHA-256",
        ],
      }),
      startUpSplit({
        suite: "verify",
        command: "pkg verify big-1.0.0.nxb --root <trusted> --json",
        whole: whole.nx,
        preloaded: whole.preloaded,
        warm: inProcess.nx,
        lazy,
        floorLabel,
        floor: whole.floor,
      }),
    ];
  },
};
