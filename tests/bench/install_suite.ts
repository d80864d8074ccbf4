/**
 * `nx pkg install big-1.0.0.nxb` into a fresh root (a copy of a root that only trusts the dev
 * key, made before each sample and not timed) against:
 *
 * - the floor: `cp -r` of the bundle + `sha256sum` of the copied files + `sync` of every copied
 *   file and directory and the directory holding the copy (3 processes, summed). coreutils
 *   `sync FILE…` fsyncs each named path, which is the durability nx gives (every file, then every
 *   directory); `sync -f` (syncfs) would also flush whatever else is dirty on the file system,
 *   other people's work included, so it is not used. Target (whole process): ratio ≤ 2×.
 * - the peer: the same 246 files as a `.deb` (under /opt/big/, uncompressed data.tar) installed
 *   with `dpkg -i` into a private dpkg root with dpkg's default safe I/O (see _deb.ts). No
 *   target: the nx/dpkg ratio is reported.
 *
 * Then, in-process, where install's time goes (_split.ts), each part against the same floor.
 */
import { join } from "node:path";
import { silentReporter } from "../../core/pkgr/context.ts";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { verifyAt } from "../../core/pkgr/verify.ts";
import { loadTrust, rootPaths } from "../../core/store/root.ts";
import { buildDeb, dpkgAvailable, dpkgInstallCmd, freshDpkgRoot } from "./_deb.ts";
import {
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
  BIG_BUNDLE,
  cloneRoot,
  directoriesOf,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  nxOk,
  sha256sumCmd,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";
import { partSamples, type Split, splitOp } from "./_split.ts";

const SUITE = "install";

/** The breakdown rows, in the order a transaction runs them. */
const PARTS: [string, string][] = [
  ["session+verify", "from the call to the `verified ok` marker: session open + verifyAt()"],
  ["step:create-app-dir", "create-app-dir step: mkdir apps/big, versions/, data/ + fsyncs"],
  ["step:stage-version", "stage-version step: copy + re-hash + fsync every file, fsync dirs"],
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
  summary: "nx pkg install big-1.0.0.nxb vs cp -r + sha256sum + sync, and vs dpkg -i",
  async run(ctx) {
    const files = await listFiles(BIG_BUNDLE);
    const bytes = await totalBytes(BIG_BUNDLE, files);
    const dirs = directoriesOf(files);
    const template = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    const withDpkg = await dpkgAvailable();
    const deb = withDpkg ? await buildDeb(BIG_BUNDLE, ctx.scratch, "big", "1.0.0") : undefined;
    let seq = 0;
    const fresh = async (label: string) => {
      const dir = join(ctx.scratch, `${label}-${seq++}`);
      await Deno.mkdir(dir);
      return dir;
    };
    const install = (root: string) =>
      nxCmd(["pkg", "install", BIG_BUNDLE, "--root", root, "--json"]);

    // Sanity: every side installs what it claims, once, before sampling.
    {
      const dir = await fresh("check");
      const root = await cloneRoot(template, join(dir, "root"));
      expectOkEnvelope((await runProcess(install(root))).stdout, "nx pkg install");
      const listed = await nxOk(["pkg", "list"], root) as { apps: { id: string }[] };
      if (listed.apps.map((a) => a.id).join() !== "big") {
        throw new Error(`cannot measure install: list shows ${JSON.stringify(listed)}`);
      }
      const installed = await listFiles(join(root, "apps", "big", "current"));
      if (installed.join("\n") !== files.join("\n")) {
        throw new Error(`cannot measure install: ${installed.length} of ${files.length} files`);
      }
      if (deb) {
        const dpkgRoot = await freshDpkgRoot(join(dir, "dpkg"));
        await runProcess(dpkgInstallCmd(dpkgRoot, deb));
        const unpacked = await listFiles(join(dpkgRoot, "opt", "big"));
        if (unpacked.join("\n") !== files.join("\n")) {
          throw new Error(`cannot use dpkg: it unpacked ${unpacked.length} of ${files.length}`);
        }
      }
      await Deno.remove(dir, { recursive: true });
    }

    // Each side works in a fresh directory, prepared and removed outside the timed part.
    const sides: Record<string, Side> = {
      nx: async () => {
        const dir = await fresh("nx");
        const root = await cloneRoot(template, join(dir, "root"));
        const ms = (await runProcess(install(root))).ms;
        await Deno.remove(dir, { recursive: true });
        return ms;
      },
      floor: async () => {
        const dir = await fresh("floor");
        const copy = join(dir, "big.nxb");
        let ms = (await runProcess({ cmd: "cp", args: ["-r", "--", BIG_BUNDLE, copy] })).ms;
        ms += (await runProcess(sha256sumCmd(copy, files))).ms;
        ms += (await runProcess({ cmd: "sync", args: ["--", ...files, ...dirs, ".."], cwd: copy }))
          .ms;
        await Deno.remove(dir, { recursive: true });
        return ms;
      },
    };
    if (deb) {
      sides.dpkg = async () => {
        const dir = await fresh("dpkg");
        const root = await freshDpkgRoot(join(dir, "root"));
        const ms = (await runProcess(dpkgInstallCmd(root, deb))).ms;
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
            { bundle: { kind: "path", path: BIG_BUNDLE } },
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
            BIG_BUNDLE,
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
    const nxLabel =
      "deno run <perms> cli/main.ts pkg install big-1.0.0.nxb --root <fresh trusted " +
      "root> --json (in-process: createPkgr().install() from core/pkgr/pkgr.ts, warm JIT)";
    const floorLabel = "cp -r <bundle> <fresh> + sha256sum of the copied files + sync <every " +
      "copied file and dir, and the parent> (3 processes, summed)";
    const outcomes: Outcome[] = [metric({
      suite: SUITE,
      name,
      unit: "ms",
      nxLabel,
      wholeProcess: whole.nx,
      inProcess,
      floorLabel,
      floor: whole.floor,
      target: { kind: "max_ratio", max: 2, appliesTo: "whole-process" },
      notes: [
        "both sides fsync every written file and directory; nx also verifies signatures, " +
        "keeps a journal and writes the registry (the first install on a fresh root creates " +
        "registry.db)",
        "sync <paths…> rather than sync -f: syncfs would flush the whole file system",
      ],
    })];
    if (deb) {
      outcomes.push(metric({
        suite: SUITE,
        name: `${name} vs dpkg -i`,
        unit: "ms",
        nxLabel,
        wholeProcess: whole.nx,
        inProcess,
        floorLabel: "dpkg --root=<fresh> --log=/dev/null --force-not-root --refuse-unsafe-io " +
          "-i big_1.0.0.deb (same 246 files under /opt/big, data.tar uncompressed)",
        floor: whole.dpkg,
        notes: [
          "no target: reported only",
          "--refuse-unsafe-io restores dpkg's default safe I/O (this image's " +
          "/etc/dpkg/dpkg.cfg.d/ sets force-unsafe-io): per file sync_file_range + fsync",
          "dpkg checks no signature; it computes an MD5 of each file for its md5sums list",
        ],
      }));
    } else {
      outcomes.push(skipped(SUITE, `${name} vs dpkg -i`, "dpkg or dpkg-deb is not installed"));
    }
    outcomes.push(metric({
      suite: SUITE,
      name: "verifyAt() of the same bundle (in-process)",
      unit: "ms",
      nxLabel: "verifyAt() from core/pkgr/verify.ts alone, timed in the same iterations",
      inProcess: verifyMs.slice(ctx.plan.warmup),
      floorLabel,
      floor: whole.floor,
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
        floorLabel,
        floor: whole.floor,
      }));
    }
    return outcomes;
  },
};
