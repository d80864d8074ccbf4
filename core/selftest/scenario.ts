/**
 * `nx selftest`: the fixture scenario, run against a root through its `Pkgr` — the local service,
 * or an agent's over a transport — printing each `SELFTEST: …` marker only after the step's
 * result and the root's state (registry record, files against the bundle's index, data, doctor)
 * were checked.
 *
 * The root is the user's (the guest's own root), so the run leaves it as it found it: it refuses
 * to start when the root holds anything of the fixture apps or is not clean, removes (with their
 * data) the apps it installed, and does so too when a step fails. Only the audit log keeps a
 * trace of the run.
 *
 * Two groups of markers: the notes lines follow one app across versions (install, an upgrade
 * whose data migration runs on the root's side, a rollback to the retained version); the
 * TASK-0130 `pkg v1` pair takes a second app from nothing to installed and back to nothing —
 * reader with the library it depends on (textkit), the uninstall order enforced by the root.
 */
import type { CallContext, OpResult, Pkgr } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { type Fixture, type FixtureId, readFixtures } from "./fixtures.ts";
import { NotesData } from "./notes_data.ts";
import { checkFailed, Probe } from "./probe.ts";
import { expectTrusted } from "./trusted.ts";
import { expectLaunch, paidEntitlement, paidReadiness } from "./paid.ts";

export const SELFTEST_MARKERS = {
  installNotes: "SELFTEST: pkg install notes v1 ok",
  upgradeNotes: "SELFTEST: pkg upgrade notes v1.1 ok",
  rollback: "SELFTEST: pkg rollback ok",
  v1Install: "SELFTEST: pkg v1 install ok",
  v1Uninstall: "SELFTEST: pkg v1 uninstall ok",
  v1Launch: "SELFTEST: pkg v1 launch ok",
  paid: "SELFTEST: pkg paid entitlement ok",
} as const;

/** The apps the scenario installs, in an order that uninstalls dependents first. */
export const SELFTEST_APPS = ["reader", "notes", "textkit", "ledger"] as const;

export interface SelftestOptions {
  pkgr: Pkgr;
  call: CallContext;
  /** The folder holding `bundles/<app>-<version>.nxb` (the repository's fixtures/). */
  fixtures: string;
  /** The root's files are on this machine: the data checks read and write the app's data. */
  local: boolean;
}

export interface SelftestReport {
  /** Each step that passed, in order, with the marker it printed. */
  steps: { name: string; marker?: string }[];
}

function expectOp(
  result: OpResult,
  op: string,
  app: string,
  from: string | null,
  to: string | null,
) {
  const got = {
    op: result.op,
    appId: result.appId,
    from: result.fromVersion,
    to: result.toVersion,
  };
  const want = { op, appId: app, from, to };
  if (JSON.stringify(got) !== JSON.stringify(want) || result.dryRun) {
    throw checkFailed(`the result of ${op} ${app}`, want, { ...got, dryRun: result.dryRun });
  }
}

/** A step's failure, named: its own code, the step in the message and in details.step. */
function inStep(step: string, e: unknown): NxError {
  const inner = e instanceof NxError
    ? e
    : new NxError("internal.unexpected", String(e), { cause: e });
  return new NxError(inner.code, `cannot pass the selftest step "${step}": ${inner.message}`, {
    hint: inner.hint,
    details: { ...inner.details, step },
    cause: e,
  });
}

export async function runSelftest(o: SelftestOptions): Promise<SelftestReport> {
  const { pkgr, call } = o;
  const probe = new Probe(pkgr, call);
  const notes = new NotesData(probe, o.local);
  const report: SelftestReport = { steps: [] };
  /** The apps this run installed and has not removed yet. */
  const ours = new Set<string>();
  const step = async (name: string, marker: string | undefined, body: () => Promise<void>) => {
    try {
      await body();
    } catch (e) {
      throw inStep(name, e);
    }
    report.steps.push(marker ? { name, marker } : { name });
    if (marker) call.reporter.emit({ kind: "marker", text: marker });
  };
  const path = (f: Fixture) => ({ kind: "path" as const, path: f.path });
  const install = async (f: Fixture) => {
    const result = await pkgr.install({ bundle: path(f) }, call);
    ours.add(f.app);
    expectOp(result, "install", f.app, null, f.version);
    return await probe.expectActive(f, []);
  };
  const uninstall = async (app: string, version: string) => {
    const result = await pkgr.uninstall({ app, purge: true }, call);
    ours.delete(app);
    expectOp(result, "uninstall", app, version, null);
    await probe.expectGone(app);
  };

  let fx!: Record<FixtureId, Fixture>;
  await step("read the fixtures", undefined, async () => {
    fx = await readFixtures(o.fixtures);
  });
  await step("check the root", undefined, async () => {
    await probe.expectDoctorClean();
    for (const app of SELFTEST_APPS) {
      if (await probe.holds(app)) {
        throw new NxError(
          "app.already_installed",
          `cannot run the selftest: the root holds ${app}`,
          {
            hint:
              `the selftest installs and removes ${SELFTEST_APPS.join(", ")} with their data; ` +
              `uninstall ${app} (or clear its kept data) first, or run it on another root`,
            details: { app },
          },
        );
      }
    }
    // The paid fixture's publisher is checked by the paid steps, which say why they cannot run.
    await expectTrusted(pkgr, call, Object.values(fx).filter((f) => f !== fx["ledger-1.0.0"]));
  });
  try {
    await step("install notes 1.0.0", SELFTEST_MARKERS.installNotes, async () => {
      await notes.installed(await install(fx["notes-1.0.0"]));
      await probe.expectDoctorClean();
    });
    await step("upgrade notes to 1.1.0", SELFTEST_MARKERS.upgradeNotes, async () => {
      const result = await pkgr.upgrade({ bundle: path(fx["notes-1.1.0"]) }, call);
      expectOp(result, "upgrade", "notes", "1.0.0", "1.1.0");
      await notes.migrated(await probe.expectActive(fx["notes-1.1.0"], ["1.0.0"]));
      await probe.expectDoctorClean();
    });
    await step("roll notes back to 1.0.0", SELFTEST_MARKERS.rollback, async () => {
      const result = await pkgr.rollback({ app: "notes" }, call);
      expectOp(result, "rollback", "notes", "1.1.0", "1.0.0");
      await notes.rolledBack(await probe.expectActive(fx["notes-1.0.0"], ["1.1.0"]));
      await probe.expectDoctorClean();
    });
    await step("launch notes 1.0.0", SELFTEST_MARKERS.v1Launch, async () => {
      await expectLaunch(pkgr, call, fx["notes-1.0.0"]);
    });
    await step("uninstall notes", undefined, async () => {
      await uninstall("notes", "1.0.0");
      await probe.expectDoctorClean();
    });
    await step("install textkit 1.0.0 and reader 1.0.0", SELFTEST_MARKERS.v1Install, async () => {
      await install(fx["textkit-1.0.0"]);
      const reader = await install(fx["reader-1.0.0"]);
      const needs = reader.dependencies.map((d) => `${d.name}@${d.versionConstraint}`);
      if (needs.join() !== "textkit@^1.0.0") {
        throw checkFailed("the dependencies of reader", ["textkit@^1.0.0"], needs);
      }
      await probe.expectDoctorClean();
    });
    await step("uninstall reader and textkit", SELFTEST_MARKERS.v1Uninstall, async () => {
      await expectRefused(() => pkgr.uninstall({ app: "textkit", purge: true }, call));
      await probe.expectActive(fx["textkit-1.0.0"], []);
      await uninstall("reader", "1.0.0");
      await uninstall("textkit", "1.0.0");
      await probe.expectDoctorClean();
    });
    const ledger = fx["ledger-1.0.0"];
    const readiness = await paidReadiness(pkgr, call, ledger);
    if ("denied" in readiness) {
      await step("the paid app's entitlement gate", SELFTEST_MARKERS.paid, async () => {
        await paidEntitlement({
          denied: readiness.denied,
          pkgr,
          call,
          fixtures: o.fixtures,
          ledger,
          install,
          uninstall,
        });
        await probe.expectDoctorClean();
      });
    } else {
      call.reporter.emit({
        kind: "warning",
        code: "selftest.failed",
        message:
          `skipped the paid-app steps (no \`${SELFTEST_MARKERS.paid}\`): ${readiness.unready}`,
      });
    }
  } catch (e) {
    throw await withCleanUp(e as NxError, pkgr, call, ours);
  }
  return report;
}

/** textkit cannot go while reader needs it: the root refuses and changes nothing. */
async function expectRefused(uninstall: () => Promise<unknown>): Promise<void> {
  try {
    await uninstall();
  } catch (e) {
    if (e instanceof NxError && e.code === "dependency.required_by") return;
    throw e;
  }
  throw checkFailed("uninstall textkit while reader needs it", "dependency.required_by", "ok");
}

/** After a failed step: removes the apps this run installed; the failure is what is thrown. */
async function withCleanUp(e: NxError, pkgr: Pkgr, call: CallContext, ours: Set<string>) {
  const removed: string[] = [];
  const failed: { app: string; code: string }[] = [];
  for (const app of SELFTEST_APPS.filter((a) => ours.has(a))) {
    try {
      await pkgr.uninstall({ app, purge: true }, call);
      removed.push(app);
    } catch (err) {
      const code = err instanceof NxError ? err.code : "internal.unexpected";
      failed.push({ app, code });
      call.reporter.emit({
        kind: "warning",
        code,
        message: `the selftest could not remove ${app} after its failure: ${
          err instanceof Error ? err.message : String(err)
        }`,
      });
    }
  }
  if (removed.length === 0 && failed.length === 0) return e;
  return new NxError(e.code, e.message, {
    hint: e.hint,
    details: { ...e.details, cleanUp: { removed, failed } },
    cause: e,
  });
}
