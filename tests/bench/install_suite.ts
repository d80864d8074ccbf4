/**
 * `nx pkg install big-1.0.0.nxb` (through bin/nx) into a fresh root (a copy of a root that only
 * trusts the dev key, made before each sample and not timed) against:
 *
 * - the floor: floor.c (built by _floor.ts), a native program doing exactly the durable work of
 *   the install: read each of the 246 files (fewer with --quick), SHA-256 it, write it into a staging directory,
 *   make them durable as nx does (one syncfs; core/store/fs.ts Durable), rename the staging
 *   directory into place and fsync its parent. Target (whole process): ratio ≤ 3×. Without `cc`:
 *   not measured.
 * - the same floor fdatasyncing every file from 16 threads, then fsyncing every directory (what
 *   Durable did before syncfs): info, it shows what syncfs buys on this disk.
 * - the peer: the same 246 files as a `.deb` (under /opt/big/, uncompressed data.tar) installed
 *   with `dpkg --refuse-unsafe-io -i` into a private dpkg root with dpkg's default safe I/O (see
 *   _deb.ts). Target (whole process): ratio ≤ 1.0× (nx at least as fast as dpkg).
 * - (notes on both rows) the Deno floor, and the same floor with the registry's least cost: the
 *   libsql addon loaded and one row committed (deno_floor.ts install-registry).
 *
 * Then, in-process, where install's time goes (_split.ts), each part against the floor.
 */
import { join } from "node:path";
import { silentReporter } from "../../core/pkgr/context.ts";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { verifyAt } from "../../core/pkgr/verify.ts";
import { loadTrust, rootPaths } from "../../core/store/root.ts";
import { buildDeb, dpkgAvailable, dpkgInstallCmd, freshDpkgRoot } from "./_deb.ts";
import { DENO_FLOOR_TEXT, denoFloorCmd } from "./_deno_floor.ts";
import { floorCmd, nativeFloor, POOL, strategyText, SYNCFS } from "./_floor.ts";
import {
  firstCalls,
  median,
  metric,
  type Outcome,
  runProcess,
  sample,
  type Side,
  skipped,
  type Suite,
  timed,
} from "./_measure.ts";
import {
  cloneRoot,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  nxOk,
  sha256sumCmd,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";
import { lazyCompiles } from "./_lazy_compile.ts";
import { preloadedCmd, preloadedMs, startUpSplit } from "./_start_up_split.ts";
import { partSamples, type Split, splitOp } from "./_split.ts";

const SUITE = "install";

/** The breakdown rows, in the order a transaction runs them. */
const PARTS: [string, string][] = [
  [
    "session+verify",
    "from the call to the `verified ok` marker: session open + verifyAt(), whose read also " +
    "writes the staging copy as it hashes",
  ],
  ["step:create-app-dir", "create-app-dir step: mkdir apps/big, versions/, data/ + fsyncs"],
  [
    "step:stage-version",
    "stage-version step: adopt the staging copy (bundle re-checked, every file fdatasynced, " +
    "dirs fsynced), or copy + re-hash when there is none",
  ],
  ["step:prepare-data", "prepare-data step: empty data dir in staging + fsync"],
  ["step:publish-version", "publish-version step: rename into apps/big/versions + fsyncs"],
  ["step:publish-data", "publish-data step: rename into apps/big/data + fsyncs"],
  ["step:switch-current", "switch-current step: temp symlink, rename over current, fsync"],
  ["step:commit-registry", "commit-registry step: register() in libSQL (synchronous=FULL)"],
  ["journal", "journal: create with the plan, fsynced appends (begin/done/commit), remove"],
  ["rest", "the rest: snapshot + plan, post-commit steps, audit entry, session close"],
];

export const installSuite: Suite = {
  name: SUITE,
  summary: "nx pkg install big-1.0.0.nxb vs a native floor (floor.c) and vs dpkg -i",
  async run(ctx) {
    const big = ctx.big;
    const files = await listFiles(big.bundle);
    const bytes = await totalBytes(big.bundle, files);
    const template = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    const built = await nativeFloor(ctx.shared);
    const floor = built.ok ? built.floor : undefined;
    const withDpkg = await dpkgAvailable();
    const deb = withDpkg ? await buildDeb(big.bundle, ctx.scratch, "big", "1.0.0") : undefined;
    let seq = 0;
    const fresh = async (label: string) => {
      const dir = join(ctx.scratch, `${label}-${seq++}`);
      await Deno.mkdir(dir);
      return dir;
    };
    const installArgs = (root: string) => ["pkg", "install", big.bundle, "--root", root, "--json"];
    const install = (root: string) => nxCmd(installArgs(root));

    const expectFiles = (what: string, got: string[]) => {
      if (got.join("\n") !== files.join("\n")) {
        throw new Error(`cannot measure install: ${what} holds ${got.length} of ${files.length}`);
      }
    };
    const expectedSums = floor ? (await runProcess(sha256sumCmd(big.bundle, files))).stdout : "";
    // Each side works in a fresh directory, prepared and removed outside the timed part. The
    // first sample of each side (the warmup, or the only one with --quick) also checks, untimed,
    // that it installed what it claims.
    const firstTime = firstCalls();
    const sides: Record<string, Side> = {
      nx: async () => {
        const dir = await fresh("nx");
        const root = await cloneRoot(template, join(dir, "root"));
        const run = await runProcess(install(root));
        if (firstTime("nx")) {
          expectOkEnvelope(run.stdout, "nx pkg install");
          const listed = await nxOk(["pkg", "list"], root) as { apps: { id: string }[] };
          if (listed.apps.map((a) => a.id).join() !== "big") {
            throw new Error(`cannot measure install: list shows ${JSON.stringify(listed)}`);
          }
          expectFiles("apps/big/current", await listFiles(join(root, "apps", "big", "current")));
        }
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
      // The same install with every module of build/ loaded before its clock starts.
      preloaded: async () => {
        const dir = await fresh("preloaded");
        const root = await cloneRoot(template, join(dir, "root"));
        const run = await runProcess(preloadedCmd(installArgs(root)));
        if (firstTime("preloaded")) expectOkEnvelope(run.stdout, "the preloaded install");
        await Deno.remove(dir, { recursive: true });
        return preloadedMs(run);
      },
      deno: async () => {
        const dir = await fresh("deno");
        const run = await runProcess(
          denoFloorCmd("install", big.bundle, join(dir, "stage"), join(dir, "installed")),
        );
        if (firstTime("deno")) {
          expectFiles("the Deno floor's copy", await listFiles(join(dir, "installed")));
        }
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
      denoRegistry: async () => {
        const dir = await fresh("deno-registry");
        const [stage, final] = [join(dir, "stage"), join(dir, "installed")];
        const db = join(dir, "registry.db");
        const run = await runProcess(
          denoFloorCmd("install-registry", big.bundle, stage, final, db),
        );
        if (firstTime("denoRegistry")) {
          expectFiles("the Deno floor's copy", await listFiles(final));
          if ((await Deno.stat(db)).size === 0) throw new Error("the Deno floor wrote no registry");
        }
        await Deno.remove(dir, { recursive: true });
        return run.ms;
      },
    };
    if (floor) {
      for (const [key, how] of [["floor", SYNCFS], ["floorPool", POOL]] as const) {
        sides[key] = async () => {
          const dir = await fresh(key);
          const run = await runProcess(floorCmd(floor, big.bundle, dir, files, how));
          if (firstTime(key)) {
            // The floor must hash what sha256sum hashes and leave every file in place.
            if (run.stdout !== expectedSums) {
              throw new Error("cannot use the native floor: its digests differ from sha256sum's");
            }
            expectFiles("the floor's copy", await listFiles(join(dir, "installed")));
          }
          await Deno.remove(dir, { recursive: true });
          return run.ms;
        };
      }
    }
    if (deb) {
      sides.dpkg = async () => {
        const dir = await fresh("dpkg");
        const root = await freshDpkgRoot(join(dir, "root"));
        const ms = (await runProcess(dpkgInstallCmd(root, deb))).ms;
        if (firstTime("dpkg")) {
          expectFiles("dpkg's /opt/big", await listFiles(join(root, "opt", "big")));
        }
        await Deno.remove(dir, { recursive: true });
        return ms;
      };
    }
    ctx.log(`install: ${files.length} files, ${mib(bytes)}; whole processes`);
    const whole = await sample(ctx.plan, sides);

    ctx.log("install: in-process createPkgr().install(), split by step");
    const splits: Split[] = [];
    const verifyMs: number[] = [];
    const trust = await loadTrust(rootPaths(template));
    await sample(ctx.plan, {
      nx: async () => {
        const dir = await fresh("inproc");
        const root = await cloneRoot(template, join(dir, "root"));
        const split = await splitOp((reporter) =>
          createPkgr({ root: rootPaths(root) }).install(
            { bundle: { kind: "path", path: big.bundle } },
            { reporter, now: new Date() },
          )
        );
        splits.push(split);
        await Deno.remove(dir, { recursive: true });
        return split.total;
      },
      verify: async () => {
        const ms = await timed(() =>
          verifyAt(
            big.bundle,
            { paths: rootPaths(template), reporter: silentReporter, now: new Date() },
            trust,
          )
        );
        verifyMs.push(ms);
        return ms;
      },
    });
    // The warmup iteration's samples are discarded, as sample() does for its own results.
    const kept = splits.slice(ctx.plan.warmup);
    const inProcess = kept.map((s) => s.total);
    const parts = partSamples(kept);

    const name = `install big-1.0.0.nxb (${files.length} files, ${mib(bytes)})`;
    const nxLabel = "bin/nx pkg install big-1.0.0.nxb --root <fresh trusted root> --json " +
      "(in-process: createPkgr().install() from core/pkgr/pkgr.ts, warm JIT)";
    const floorText = (how: typeof SYNCFS) =>
      `floor.c (${floor?.sha} SHA-256): read + SHA-256 + write each file into a staging dir, ` +
      `${strategyText(how)}, rename into place, fsync the parent`;
    const bound = { label: DENO_FLOOR_TEXT.install, samples: whole.deno };
    // What the libSQL registry adds to the Deno floor, against the row's floor or peer.
    const withRegistry = (peer: number[]) => {
      const ms = median(whole.denoRegistry);
      return `Deno floor with the registry (${DENO_FLOOR_TEXT["install-registry"]}): ` +
        `${ms.toFixed(1)} ms, ${(ms / median(peer)).toFixed(2)}× the floor/peer`;
    };
    const outcomes: Outcome[] = [];
    if (floor) {
      outcomes.push(metric({
        suite: SUITE,
        name: `${name} vs the native floor`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess,
        floorLabel: floorText(SYNCFS),
        floor: whole.floor,
        target: { kind: "max_ratio", max: 3, appliesTo: "whole-process" },
        bound,
        notes: [
          `built with: ${floor.build}`,
          "both sides read, hash, write and make durable every file and directory; nx also " +
          "starts Deno, checks signatures, keeps a journal and writes the registry (the first " +
          "install on a fresh root creates registry.db)",
          withRegistry(whole.floor),
        ],
      }));
      outcomes.push(metric({
        suite: SUITE,
        name: `${name} vs the floor fdatasyncing every file`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess,
        floorLabel: floorText(POOL),
        floor: whole.floorPool,
        notes: [
          "no target: the gap to the row above is what one syncfs buys over per-file fdatasyncs " +
          "on this disk (nx's Durable in core/store/fs.ts takes syncfs on Linux >= 5.8)",
        ],
      }));
    } else {
      outcomes.push(skipped(SUITE, `${name} vs the native floor`, built.ok ? "" : built.reason, {
        target: { kind: "max_ratio", max: 3, appliesTo: "whole-process" },
        unit: "ms",
      }));
    }
    const dpkgTarget = { kind: "max_ratio", max: 1, appliesTo: "whole-process" } as const;
    if (deb) {
      outcomes.push(metric({
        suite: SUITE,
        name: `${name} vs dpkg -i`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess,
        floorLabel: "dpkg --root=<fresh> --log=/dev/null --force-not-root --refuse-unsafe-io " +
          `-i big_1.0.0.deb (same ${files.length} files under /opt/big, data.tar uncompressed)`,
        floor: whole.dpkg,
        target: dpkgTarget,
        bound,
        notes: [
          "--refuse-unsafe-io restores dpkg's default safe I/O (this image's " +
          "/etc/dpkg/dpkg.cfg.d/ sets force-unsafe-io): per file sync_file_range + fsync",
          "dpkg checks no signature; it computes an MD5 of each file for its md5sums list",
          withRegistry(whole.dpkg),
        ],
      }));
    } else {
      outcomes.push(
        skipped(SUITE, `${name} vs dpkg -i`, "dpkg or dpkg-deb is not installed", {
          target: dpkgTarget,
          unit: "ms",
        }),
      );
    }
    // The in-process rows need one reference measured in the same run: the floor, else dpkg.
    const reference = floor
      ? { label: floorText(SYNCFS), samples: whole.floor }
      : deb
      ? { label: "dpkg -i of the same files (no native floor here)", samples: whole.dpkg }
      : undefined;
    if (!reference) return outcomes;
    outcomes.push(startUpSplit({
      suite: SUITE,
      command: "pkg install big-1.0.0.nxb --root <fresh trusted root> --json",
      whole: whole.nx,
      preloaded: whole.preloaded,
      warm: inProcess,
      firstRun: "code compiled on first call, the first libSQL and libc calls, a young heap",
      lazy: await lazyCompiles(
        async () => installArgs(await cloneRoot(template, join(await fresh("lazy"), "root"))),
        ctx.scratch,
      ),
      floorLabel: reference.label,
      floor: reference.samples,
    }));
    outcomes.push(metric({
      suite: SUITE,
      name: "verifyAt() of the same bundle (in-process)",
      unit: "ms",
      nxLabel: "verifyAt() from core/pkgr/verify.ts alone, timed in the same iterations",
      inProcess: verifyMs.slice(ctx.plan.warmup),
      floorLabel: reference.label,
      floor: reference.samples,
      notes: ["session+verify minus this ≈ session open (lock, root init, registry open)"],
    }));
    const known = new Set(PARTS.map(([key]) => key));
    const extra = Object.keys(parts).filter((k) => !known.has(k)).map((k) => [k, k]);
    for (const [key, label] of [...PARTS, ...extra]) {
      if (!parts[key]) continue;
      outcomes.push(metric({
        suite: SUITE,
        name: `install split: ${key} (in-process)`,
        unit: "ms",
        nxLabel: label,
        inProcess: parts[key],
        floorLabel: reference.label,
        floor: reference.samples,
      }));
    }
    return outcomes;
  },
};
