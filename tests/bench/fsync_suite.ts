/**
 * What durability costs in syscalls: one install of big-1.0.0 by nx (into a fresh copy of a
 * trusted root) and by dpkg (the same files as a `.deb`, safe I/O, see _deb.ts), each traced
 * with `strace -f -y` (every thread and child, file descriptors shown as paths):
 *
 * - fsync + fdatasync calls, sync_file_range calls, sync + syncfs calls;
 * - write-family calls (write, pwrite64, writev, pwritev, pwritev2) to files, and the bytes they
 *   wrote (pipes, eventfds, sockets and /dev are left out).
 *
 * Counts are nearly deterministic, so each side is traced 3 times (interleaved, no warmup) and
 * the median is reported; no targets. strace slows the traced process down, so nothing here is
 * timed. When strace cannot trace in this sandbox (no ptrace), the suite says so and skips.
 */
import { join } from "node:path";
import { buildDeb, dpkgAvailable, dpkgInstallCmd, freshDpkgRoot } from "./_deb.ts";
import {
  type Cmd,
  median,
  metric,
  type Outcome,
  runProcess,
  sample,
  skipped,
  type Suite,
  type Unit,
} from "./_measure.ts";
import {
  cloneRoot,
  expectOkEnvelope,
  listFiles,
  mib,
  nxCmd,
  totalBytes,
  trustedRoot,
} from "./_nx.ts";

const SUITE = "fsync";
const STRACE = "strace";
const TRACED_RUNS = 3;
const SYNCS = ["fsync", "fdatasync", "sync_file_range", "sync", "syncfs"];
const WRITES = ["write", "pwrite64", "writev", "pwritev", "pwritev2"];

/** One traced run, counted; `syncsByPlace` splits the fsync + fdatasync calls by path. */
export interface Trace {
  calls: Record<string, number>;
  fileWrites: number;
  fileBytes: number;
  syncsByPlace: Record<string, number>;
}

/**
 * Parses `strace -f -y` output. Calls interrupted by another thread's line appear as
 * `NAME(args <unfinished ...>` then `<... NAME resumed>rest`; they are joined per pid first.
 */
export function parseTrace(text: string, classify: (path: string) => string): Trace {
  const trace: Trace = { calls: {}, fileWrites: 0, fileBytes: 0, syncsByPlace: {} };
  const pending = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const [, pid, body] = m;
    let line = body;
    if (line.endsWith("<unfinished ...>")) {
      pending.set(pid, line.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      line = (pending.get(pid) ?? "") + resumed[1];
      pending.delete(pid);
    }
    const call = /^(\w+)\((?:(\d+)<([^>]*)>)?.*\)\s+=\s+(-?\d+)/.exec(line);
    if (!call) continue;
    const [, name, , path = "", result] = call;
    if (SYNCS.includes(name)) {
      trace.calls[name] = (trace.calls[name] ?? 0) + 1;
      if (name === "fsync" || name === "fdatasync") {
        const place = classify(path);
        trace.syncsByPlace[place] = (trace.syncsByPlace[place] ?? 0) + 1;
      }
    } else if (WRITES.includes(name)) {
      const isFile = path.startsWith("/") && !path.startsWith("/dev/") &&
        !path.startsWith("/proc/");
      const n = Number(result);
      if (isFile && n >= 0) {
        trace.calls[name] = (trace.calls[name] ?? 0) + 1;
        trace.fileWrites++;
        trace.fileBytes += n;
      }
    }
  }
  return trace;
}

/** Runs `c` under `strace -f -y -e trace=… -o <out>`; its stdout and the parsed trace. */
async function traced(
  c: Cmd,
  out: string,
  classify: (path: string) => string,
): Promise<{ trace: Trace; stdout: string }> {
  const trace = `trace=${[...SYNCS, ...WRITES].join(",")}`;
  const run = await runProcess({
    cmd: STRACE,
    args: ["-f", "-y", "-e", trace, "-o", out, c.cmd, ...c.args],
    cwd: c.cwd,
    env: c.env,
  });
  const parsed = parseTrace(await Deno.readTextFile(out), classify);
  await Deno.remove(out);
  return { trace: parsed, stdout: run.stdout };
}

/** Why strace cannot trace here, or undefined when it can. */
async function straceProblem(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(STRACE, {
      args: ["-f", "-o", "/dev/null", "true"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success) return undefined;
    return `strace cannot trace in this sandbox: ${
      new TextDecoder().decode(out.stderr).trim().split("\n")[0]
    }`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "strace is not installed (apt package strace)";
    throw e;
  }
}

/** Where an nx fsync went, relative to the root. */
function nxPlace(root: string) {
  return (path: string) => {
    const rel = path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
    if (rel.startsWith("pkg/staging")) return "staging copy";
    if (rel.startsWith("pkg/registry.db")) return "registry.db*";
    if (rel.startsWith("pkg/journal")) return "journal";
    if (rel === "pkg" || rel.startsWith("pkg/")) return "pkg/ (dir, root files)";
    if (rel === "apps" || rel.startsWith("apps/")) return "apps/";
    return path === root ? "root dir" : "elsewhere";
  };
}

/** Where a dpkg fsync went, relative to its root. */
function dpkgPlace(root: string) {
  return (path: string) => {
    const rel = path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
    if (rel.startsWith("opt")) return "/opt/big (payload)";
    if (rel.startsWith("var/lib/dpkg")) return "admin dir";
    return "elsewhere";
  };
}

function places(t: Record<string, number>): string {
  return Object.entries(t).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ");
}

export const fsyncSuite: Suite = {
  name: SUITE,
  summary: "fsync/sync_file_range calls and bytes written per install: nx vs dpkg (strace)",
  async run(ctx) {
    const big = ctx.big;
    const title = "syscalls per install of big-1.0.0";
    const problem = await straceProblem();
    if (problem) return [skipped(SUITE, title, problem)];
    if (!await dpkgAvailable()) {
      return [skipped(SUITE, title, "dpkg or dpkg-deb is not installed: no peer to count")];
    }
    const files = await listFiles(big.bundle);
    const payload = await totalBytes(big.bundle, files);
    const template = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    const deb = await buildDeb(big.bundle, ctx.scratch, "big", "1.0.0");
    let seq = 0;
    const traces: Record<"nx" | "dpkg", Trace[]> = { nx: [], dpkg: [] };

    const runs = ctx.quick ? 1 : TRACED_RUNS;
    ctx.log(`fsync: ${runs} traced installs per side (strace -f -y)`);
    await sample({ runs, warmup: 0 }, {
      nx: async () => {
        const dir = join(ctx.scratch, `nx-${seq++}`);
        await Deno.mkdir(dir);
        const root = await cloneRoot(template, join(dir, "root"));
        const cmd = nxCmd(["pkg", "install", big.bundle, "--root", root, "--json"]);
        const t = await traced(cmd, join(ctx.scratch, "strace.out"), nxPlace(root));
        expectOkEnvelope(t.stdout, "nx pkg install under strace");
        traces.nx.push(t.trace);
        await Deno.remove(dir, { recursive: true });
        return 0;
      },
      dpkg: async () => {
        const dir = join(ctx.scratch, `dpkg-${seq++}`);
        const root = await freshDpkgRoot(dir);
        const t = await traced(
          dpkgInstallCmd(root, deb),
          join(ctx.scratch, "strace.out"),
          dpkgPlace(root),
        );
        traces.dpkg.push(t.trace);
        await Deno.remove(dir, { recursive: true });
        return 0;
      },
    });

    const count = (side: "nx" | "dpkg", f: (t: Trace) => number) => traces[side].map(f);
    const calls = (names: string[]) => (t: Trace) =>
      names.reduce((sum, n) => sum + (t.calls[n] ?? 0), 0);
    const nxLabel = "bin/nx pkg install big-1.0.0.nxb --root <fresh trusted root> --json, " +
      "under strace -f -y";
    const floorLabel = "dpkg --root=<fresh> … --refuse-unsafe-io -i big_1.0.0.deb (same " +
      `${files.length} files), under strace -f -y`;
    const row = (
      name: string,
      unit: Unit,
      f: (t: Trace) => number,
      notes: string[] = [],
    ): Outcome => {
      const nx = count("nx", f);
      const dpkg = count("dpkg", f);
      if (median(dpkg) === 0) {
        return skipped(
          SUITE,
          `${title}: ${name}`,
          `dpkg made none (nx: ${median(nx)}); no ratio against 0`,
        );
      }
      return metric({
        suite: SUITE,
        name: `${title}: ${name}`,
        unit,
        nxLabel,
        wholeProcess: nx,
        floorLabel,
        floor: dpkg,
        notes: [`median of ${runs} traced runs per side; no target`, ...notes],
      });
    };
    const last = { nx: traces.nx[traces.nx.length - 1], dpkg: traces.dpkg[traces.dpkg.length - 1] };
    const outcomes = [
      row("fsync + fdatasync", "calls", calls(["fsync", "fdatasync"]), [
        `nx by place (last run): ${places(last.nx.syncsByPlace)}`,
        `dpkg by place (last run): ${places(last.dpkg.syncsByPlace)}`,
        `fdatasync alone: nx ${median(count("nx", calls(["fdatasync"])))}, ` +
        `dpkg ${median(count("dpkg", calls(["fdatasync"])))}`,
      ]),
      row("sync_file_range", "calls", calls(["sync_file_range"]), [
        "dpkg starts writeback of each file as it is written (SYNC_FILE_RANGE_WRITE), then " +
        "waits for it before the fsyncs",
      ]),
      row("write-family calls to files", "calls", (t) => t.fileWrites, [
        `nx by call (last run): ${places(pick(last.nx.calls, WRITES))}`,
        `dpkg by call (last run): ${places(pick(last.dpkg.calls, WRITES))}`,
      ]),
      row("bytes written to files", "MiB", (t) => t.fileBytes / (1024 * 1024), [
        `payload on disk: ${mib(payload)}; the rest is metadata (journal, ` +
        "registry/WAL, dpkg's database)",
      ]),
    ];
    const syncAll = (t: Trace) => (t.calls.sync ?? 0) + (t.calls.syncfs ?? 0);
    if (median(count("nx", syncAll)) + median(count("dpkg", syncAll)) > 0) {
      outcomes.push(row("sync + syncfs", "calls", syncAll));
    }
    return outcomes;
  },
};

function pick(calls: Record<string, number>, names: string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).filter(([k]) => names.includes(k)));
}
