/**
 * `nx pkg list --json` on a root with 1,000 installed apps against `nx --version` (start-up and
 * nx's module graph, no work). Target (whole process): ratio ≤ 1.5×.
 *
 * The root is prepared once per bench run, untimed, the fastest honest way:
 *
 * 1. through the CLI: trust the dev key, install notes-1.0.0, textkit-1.0.0, reader-1.0.0 (which
 *    depends on textkit), then upgrade notes to 1.1.0 (its data migration runs), so notes holds
 *    two retained versions with their data;
 * 2. the other 997 apps, app-0001…app-0997, are clones of notes: registry rows written with the
 *    project's registry module (`register()` of notes' own record with another id, under the
 *    root's writer lock), and matching trees apps/<id>/{versions,data}/<v> copied from notes'
 *    files (copies, not hard links: the bundle reader skips files with more than one link, so
 *    doctor would report every hard-linked file), with a `current` link to the active version;
 *    then one `sync -f` so the copies' writeback does not land in the samples.
 *
 * `nx pkg doctor` then checks the whole root once (it must pass); its time is reported as info
 * against `sha256sum` over the same retained files (doctor re-hashes each of them).
 */
import { join } from "node:path";
import { silentReporter } from "../../core/pkgr/context.ts";
import { createPkgr } from "../../core/pkgr/pkgr.ts";
import { openRegistry, registryUrlForFile } from "../../core/registry/mod.ts";
import { acquireLock } from "../../core/store/lock.ts";
import { rootPaths } from "../../core/store/root.ts";
import { metric, type Outcome, runProcess, sample, type Suite, timed } from "./_measure.ts";
import {
  expectOkEnvelope,
  fixtureBundle,
  listFiles,
  nxCmd,
  nxOk,
  sha256sumCmd,
  trustedRoot,
} from "./_nx.ts";

const SUITE = "list";
const APPS = 1000;
const TEMPLATE_APP = "notes";

/** Every entry below `dir` (relative): directories first-to-last in walk order, files, links. */
async function walk(dir: string) {
  const dirs: string[] = [];
  const files: string[] = [];
  const links: { path: string; target: string }[] = [];
  const visit = async (rel: string) => {
    for await (const e of Deno.readDir(rel ? join(dir, rel) : dir)) {
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymlink) links.push({ path, target: await Deno.readLink(join(dir, path)) });
      else if (e.isDirectory) {
        dirs.push(path);
        await visit(path);
      } else files.push(path);
    }
  };
  await visit("");
  return { dirs, files, links };
}

/** Clones the template app's registry record and tree as app-0001…, up to `APPS` apps in all. */
async function addClones(root: string, count: number): Promise<string[]> {
  const paths = rootPaths(root);
  const ids = Array.from({ length: count }, (_, i) => `app-${String(i + 1).padStart(4, "0")}`);
  const source = join(paths.apps, TEMPLATE_APP);
  const tree = await walk(source);
  for (const id of ids) {
    const dir = join(paths.apps, id);
    await Deno.mkdir(dir);
    for (const d of tree.dirs) await Deno.mkdir(join(dir, d));
    for (const f of tree.files) await Deno.copyFile(join(source, f), join(dir, f));
    for (const l of tree.links) await Deno.symlink(l.target, join(dir, l.path));
  }
  const lock = await acquireLock(paths, "bench");
  const registry = await openRegistry(registryUrlForFile(paths.registryDb));
  try {
    const record = await registry.get(TEMPLATE_APP);
    if (!record) throw new Error(`cannot clone ${TEMPLATE_APP}: not in the registry`);
    for (const id of ids) await registry.register({ ...record, id });
  } finally {
    registry.close();
    lock.release();
  }
  return ids;
}

/** The suite's root under `dir`: 3 apps through the CLI, the rest cloned (module comment). */
export async function prepareListRoot(
  dir: string,
): Promise<{ root: string; real: string[]; clones: string[] }> {
  const root = await trustedRoot(dir);
  const real = ["notes-1.0.0", "textkit-1.0.0", "reader-1.0.0"];
  for (const id of real) await nxOk(["pkg", "install", fixtureBundle(id)], root);
  await nxOk(["pkg", "upgrade", fixtureBundle("notes-1.1.0")], root);
  const clones = await addClones(root, APPS - real.length);
  await runProcess({ cmd: "sync", args: ["-f", root] });
  return { root, real, clones };
}

interface DoctorReport {
  apps: number;
  files: number;
  findings: { kind: string; path: string }[];
}

/**
 * `nx pkg doctor --json` once, timed; throws unless it passes. On findings the error names how
 * many of each kind and the first few paths (the full report can run to megabytes).
 */
async function runDoctor(root: string): Promise<{ ms: number; report: DoctorReport }> {
  const c = nxCmd(["pkg", "doctor", "--root", root, "--json"]);
  const start = performance.now();
  const out = await new Deno.Command(c.cmd, {
    args: c.args,
    cwd: c.cwd,
    env: c.env,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  const ms = performance.now() - start;
  let envelope;
  try {
    envelope = JSON.parse(new TextDecoder().decode(out.stdout));
  } catch {
    throw new Error(`cannot run nx pkg doctor: exit ${out.code}, no JSON envelope`);
  }
  if (envelope.ok === true) return { ms, report: envelope.data };
  const findings: DoctorReport["findings"] = envelope.data?.details?.report?.findings ?? [];
  const kinds = new Map<string, number>();
  for (const f of findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  throw new Error(
    `cannot vouch for the prepared root: nx pkg doctor exit ${out.code}, ${envelope.code}: ` +
      [...kinds].map(([k, n]) => `${n} ${k}`).join(", ") + "; first: " +
      findings.slice(0, 3).map((f) => f.path).join(", "),
  );
}

export const listSuite: Suite = {
  name: SUITE,
  summary: `nx pkg list --json on a root with ${APPS} apps vs nx --version`,
  async run(ctx) {
    ctx.log(`list: preparing a root with ${APPS} apps (once, untimed)`);
    const prepStart = performance.now();
    const { root, real, clones } = await prepareListRoot(ctx.scratch);
    ctx.log(
      `list: root ready in ${((performance.now() - prepStart) / 1000).toFixed(1)} s ` +
        `(${real.length} installed through the CLI, ${clones.length} cloned)`,
    );

    const list = nxCmd(["pkg", "list", "--root", root, "--json"]);
    const version = nxCmd(["--version"]);
    // The part of list's cost that does not grow with the apps: a root with notes alone.
    const oneRoot = await trustedRoot(await Deno.makeTempDir({ dir: ctx.scratch }));
    await nxOk(["pkg", "install", fixtureBundle("notes-1.0.0")], oneRoot);
    const listOne = nxCmd(["pkg", "list", "--root", oneRoot, "--json"]);
    expectOkEnvelope((await runProcess(listOne)).stdout, "nx pkg list on a root with 1 app");
    const listed = await runProcess(list);
    expectOkEnvelope(listed.stdout, "nx pkg list");
    const apps = JSON.parse(listed.stdout).data.apps as { id: string }[];
    if (apps.length !== APPS) {
      throw new Error(`cannot measure list: it shows ${apps.length} apps, not ${APPS}`);
    }
    await runProcess(version);

    ctx.log("list: nx pkg doctor on the whole root, once");
    const doctor = await runDoctor(root);
    const report = doctor.report;
    if (report.apps !== APPS) {
      throw new Error(`cannot use doctor: it checked ${report.apps} apps, not ${APPS}`);
    }
    // What doctor re-hashes: every file of every retained version of every app.
    const retained: string[] = [];
    for (const app of apps) {
      for (const v of await listFiles(join(root, "apps", app.id, "versions"))) {
        retained.push(`apps/${app.id}/versions/${v}`);
      }
    }
    const hashAll = await runProcess(sha256sumCmd(root, retained));

    ctx.log("list: whole processes");
    const whole = await sample(ctx.plan, {
      list: async () => (await runProcess(list)).ms,
      version: async () => (await runProcess(version)).ms,
      one: async () => (await runProcess(listOne)).ms,
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
    const versionFloor = "deno run <perms> cli/main.ts --version: start-up + nx module graph, " +
      "no work";
    const outcomes: Outcome[] = [
      metric({
        suite: SUITE,
        name: `list --json with ${APPS} apps vs nx --version`,
        unit: "ms",
        nxLabel: `deno run <perms> cli/main.ts pkg list --root <root with ${APPS} apps> --json ` +
          "(in-process: createPkgr().list() from core/pkgr/pkgr.ts, warm JIT)",
        wholeProcess: whole.list,
        inProcess: inProcess.pkgr,
        floorLabel: versionFloor,
        floor: whole.version,
        target: { kind: "max_ratio", max: 1.5, appliesTo: "whole-process" },
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
        nxLabel: "deno run <perms> cli/main.ts pkg list --root <root with notes only> --json: " +
          "start-up, service + libSQL load, registry open, one app",
        wholeProcess: whole.one,
        floorLabel: versionFloor,
        floor: whole.version,
        notes: ["no target: the part of list's cost that does not depend on the apps"],
      }),
      metric({
        suite: SUITE,
        name: `registry list() of ${APPS} apps (in-process)`,
        unit: "ms",
        nxLabel:
          "openRegistry(read-only) + list() + close() from core/registry/mod.ts, warm JIT: " +
          "both queries and every row's JSON (files, manifest) parsed",
        inProcess: inProcess.registry,
        floorLabel: versionFloor,
        floor: whole.version,
      }),
      metric({
        suite: SUITE,
        name: `doctor with ${APPS} apps (1 run each)`,
        unit: "ms",
        nxLabel: `deno run <perms> cli/main.ts pkg doctor --root <root with ${APPS} apps> ` +
          `--json: passed, ${report.files} files checked`,
        wholeProcess: [doctor.ms],
        floorLabel: `sha256sum over the ${retained.length} files of every retained version ` +
          "(what doctor re-hashes), one process",
        floor: [hashAll.ms],
        notes: ["no target: one run each, a check that the prepared root is consistent"],
      }),
    ];
    return outcomes;
  },
};
