/**
 * `nx pkg doctor --json` on the root with 1,000 apps (_apps_root.ts, shared with the list suite)
 * against `sha256sum` over every file of every retained version of every app, one process: the
 * re-hashing doctor cannot skip. Target (whole process): ratio ≤ 3×. Every sampled doctor run
 * must pass (a finding means the prepared root, or doctor, is wrong: the suite fails).
 *
 * Doctor takes seconds per run on 1,000 apps, so the suite keeps at most DOCTOR_RUNS samples per
 * side (after the usual warmup) to hold the whole bench to a few minutes.
 */
import { appCount, appsRoot, retainedFiles } from "./_apps_root.ts";
import { type Cmd, metric, runProcess, sample, type Suite } from "./_measure.ts";
import { nxCmd, sha256sumCmd } from "./_nx.ts";

const SUITE = "doctor";
const DOCTOR_RUNS = 5;

interface DoctorReport {
  apps: number;
  files: number;
  findings: { kind: string; path: string }[];
}

/**
 * Runs doctor once, timed like runProcess (spawn to exit); throws unless it passes. On findings
 * the error names how many of each kind and the first few paths (the full report can run to
 * megabytes, so stderr is not kept).
 */
async function runDoctor(c: Cmd): Promise<{ ms: number; report: DoctorReport }> {
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

export const doctorSuite: Suite = {
  name: SUITE,
  summary: `nx pkg doctor on a root with ${appCount(false)} apps vs sha256sum over their files`,
  async run(ctx) {
    const apps = appCount(ctx.quick);
    ctx.log(`doctor: the root with ${apps} apps (prepared once per run, untimed)`);
    const { root, real, clones } = await appsRoot(ctx.shared, apps);
    const ids = [...clones, ...real.map((r) => r.replace(/-\d+\.\d+\.\d+$/, ""))];
    const retained = await retainedFiles(root, ids);
    const doctor = nxCmd(["pkg", "doctor", "--root", root, "--json"]);
    const hashAll = sha256sumCmd(root, retained);

    const plan = { ...ctx.plan, runs: Math.min(ctx.plan.runs, DOCTOR_RUNS) };
    ctx.log(`doctor: ${retained.length} retained files; whole processes, ${plan.runs} runs`);
    // Every sample checks what it covered (untimed): doctor passed on every app, sha256sum
    // hashed every file.
    let checkedFiles = 0;
    const whole = await sample(plan, {
      doctor: async () => {
        const run = await runDoctor(doctor);
        if (run.report.apps !== apps) {
          throw new Error(`cannot measure doctor: it checked ${run.report.apps} apps, not ${apps}`);
        }
        checkedFiles = run.report.files;
        return run.ms;
      },
      floor: async () => {
        const run = await runProcess(hashAll);
        const sums = run.stdout.trim().split("\n").length;
        if (sums !== retained.length) {
          throw new Error(`cannot use the floor: sha256sum printed ${sums} of ${retained.length}`);
        }
        return run.ms;
      },
    });
    return [metric({
      suite: SUITE,
      name: `doctor with ${apps} apps vs sha256sum over their files`,
      unit: "ms",
      nxLabel: `bin/nx pkg doctor --root <root with ${apps} apps> --json: passed every run, ` +
        `${checkedFiles} files checked`,
      wholeProcess: whole.doctor,
      floorLabel: `sha256sum over the ${retained.length} files of every retained version ` +
        "(what doctor re-hashes), one process",
      floor: whole.floor,
      target: { kind: "max_ratio", max: 3, appliesTo: "whole-process" },
      notes: [
        `${plan.runs} runs per side after ${plan.warmup} warmup (at most ${DOCTOR_RUNS})`,
        "doctor also walks the whole root (modes, owners, links, strays) and compares it " +
        "with the registry; the floor only hashes",
      ],
    })];
  },
};
