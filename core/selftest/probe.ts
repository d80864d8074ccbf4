/**
 * The checks the selftest makes after each step, through the contract alone so that they hold on
 * a remote root as on a local one: the registry's record (`info`, `list`), the files it lists
 * against the bundle's signed index, and `doctor` (which compares the tree with the registry).
 * Together: the tree holds exactly the bundle's files at the expected version. Data checks that
 * need the app's files themselves are the scenario's (scenario.ts, local runs).
 */
import type { AppInfo, CallContext, Pkgr } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import type { Fixture } from "./fixtures.ts";

/** The code of a check that failed after the service reported success: nx broke its own promise. */
export const CHECK_FAILED = "selftest.failed" as const;

/** A failed check: what was expected and what the root said. */
export function checkFailed(what: string, expected: unknown, actual: unknown): NxError {
  return new NxError(CHECK_FAILED, `${what}: expected ${show(expected)}, found ${show(actual)}`, {
    details: { check: what, expected, actual },
  });
}

const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

function expectEqual(what: string, expected: unknown, actual: unknown): void {
  if (JSON.stringify(expected) !== JSON.stringify(actual)) {
    throw checkFailed(what, expected, actual);
  }
}

const isCode = (e: unknown, code: string) => e instanceof NxError && e.code === code;

export class Probe {
  constructor(readonly pkgr: Pkgr, readonly call: CallContext) {}

  /** The app's record, or undefined when it is not installed. */
  async info(app: string): Promise<AppInfo | undefined> {
    try {
      return await this.pkgr.info({ app, files: true }, this.call);
    } catch (e) {
      if (isCode(e, "app.not_installed")) return undefined;
      throw e;
    }
  }

  /** Whether the root holds anything of `app`: an installed version or kept data. */
  async holds(app: string): Promise<boolean> {
    try {
      await this.pkgr.clearData({ app, dryRun: true }, this.call);
      return true;
    } catch (e) {
      if (isCode(e, "app.not_installed")) return false;
      throw e;
    }
  }

  /**
   * `fixture` is the active version of its app: in `list` and `info`, with exactly the bundle's
   * files, and `retained` the other versions kept.
   */
  async expectActive(fixture: Fixture, retained: string[]): Promise<AppInfo> {
    const { app, version } = fixture;
    const info = await this.info(app);
    if (info === undefined) throw checkFailed(`info ${app}`, `${app} installed`, "not installed");
    expectEqual(`the active version of ${app}`, version, info.version);
    expectEqual(`the state of ${app}`, "active", info.state);
    expectEqual(`the retained versions of ${app}`, [...retained].sort(), [...info.retained].sort());
    expectEqual(
      `the files of ${app} ${version} (against ${fixture.id})`,
      fixture.files,
      info.files,
    );
    const row = (await this.pkgr.list({}, this.call)).find((a) => a.id === app);
    expectEqual(
      `the list row of ${app}`,
      `${version} active`,
      row && `${row.version} ${row.state}`,
    );
    return info;
  }

  /** Nothing of `app` is left: not listed, no record, no kept data. */
  async expectGone(app: string): Promise<void> {
    const row = (await this.pkgr.list({}, this.call)).find((a) => a.id === app);
    if (row) throw checkFailed(`the list after removing ${app}`, `no ${app}`, row);
    if (await this.holds(app)) {
      throw checkFailed(`the root after removing ${app}`, "no version and no data", "data kept");
    }
  }

  /** `doctor` finds nothing (it throws doctor.findings with the report otherwise). */
  async expectDoctorClean(): Promise<void> {
    const report = await this.pkgr.doctor({}, this.call);
    expectEqual("doctor's findings", [], report.findings);
  }

  /** The data size `info` reports for the active version (the sum of its files' bytes). */
  expectDataSize(info: AppInfo, expected: number): void {
    expectEqual(`the data size of ${info.id} ${info.version}`, expected, info.dataSize);
  }
}
