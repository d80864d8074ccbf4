/**
 * `nx pkg doctor`: an fsck for a state root. Re-hashes every installed file against the registry,
 * checks `current` links, compares the registry with the tree, and finds staging leftovers.
 * `--repair` fixes what can be fixed without guessing; anything left makes doctor fail.
 */
import { join } from "node:path";
import { NxError } from "../errors.ts";
import type { AppRecord } from "../registry/mod.ts";
import {
  appPaths,
  exists,
  listDir,
  readBundle,
  readCurrent,
  removeTree,
  replaceSymlink,
} from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";

export interface Finding {
  kind:
    | "staging-leftover"
    | "app-dir-missing"
    | "current-mismatch"
    | "version-missing"
    | "file-missing"
    | "file-unexpected"
    | "file-digest-mismatch"
    | "data-missing"
    | "version-orphan"
    | "data-orphan"
    | "app-orphan";
  app?: string;
  path: string;
  message: string;
  repairable: boolean;
}

export interface DoctorReport {
  ok: boolean;
  apps: number;
  files: number;
  recovered?: string;
  findings: Finding[];
  repaired: Finding[];
}

interface Check {
  findings: Finding[];
  files: number;
}

async function checkVersionFiles(
  app: AppRecord,
  dir: string,
  version: AppRecord["versions"][number],
  check: Check,
) {
  const facts = await readBundle(dir, () => undefined);
  const expected = new Map(version.files.map((f) => [f.path, f]));
  for (const entry of facts.entries.filter((e) => e.type !== "dir")) {
    const want = expected.get(entry.path);
    const got = facts.files[entry.path];
    check.files++;
    const path = join(dir, entry.path);
    if (!want) {
      check.findings.push({
        kind: "file-unexpected",
        app: app.id,
        path,
        message: "not part of the installed bundle",
        repairable: false,
      });
    } else if (!got || got.size !== want.size || got.sha256 !== want.sha256) {
      check.findings.push({
        kind: "file-digest-mismatch",
        app: app.id,
        path,
        message: "content differs from the installed bundle",
        repairable: false,
      });
    }
    expected.delete(entry.path);
  }
  for (const f of expected.values()) {
    check.findings.push({
      kind: "file-missing",
      app: app.id,
      path: join(dir, f.path),
      message: "missing",
      repairable: false,
    });
  }
}

async function checkApp(ctx: OpContext, app: AppRecord, check: Check): Promise<void> {
  const paths = appPaths(ctx.paths, app.id);
  if (!(await exists(paths.dir))) {
    check.findings.push({
      kind: "app-dir-missing",
      app: app.id,
      path: paths.dir,
      message: "registered but not on disk",
      repairable: false,
    });
    return;
  }
  const current = await readCurrent(paths);
  if (current !== `versions/${app.version}`) {
    check.findings.push({
      kind: "current-mismatch",
      app: app.id,
      path: paths.current,
      message: `links to ${current ?? "nothing"}, registry says versions/${app.version}`,
      repairable: await exists(paths.version(app.version)),
    });
  }
  const retained = new Set(app.versions.map((v) => v.version));
  for (const v of app.versions) {
    const dir = paths.version(v.version);
    if (!(await exists(dir))) {
      check.findings.push({
        kind: "version-missing",
        app: app.id,
        path: dir,
        message: "retained version missing",
        repairable: false,
      });
    } else {
      await checkVersionFiles(app, dir, v, check);
    }
    if (!(await exists(paths.dataOf(v.version)))) {
      check.findings.push({
        kind: "data-missing",
        app: app.id,
        path: paths.dataOf(v.version),
        message: "data of a retained version missing",
        repairable: false,
      });
    }
  }
  for (const name of await listDir(paths.versions)) {
    if (!retained.has(name)) {
      check.findings.push({
        kind: "version-orphan",
        app: app.id,
        path: paths.version(name),
        message: "not in the registry",
        repairable: true,
      });
    }
  }
  for (const name of await listDir(paths.data)) {
    if (!retained.has(name)) {
      check.findings.push({
        kind: "data-orphan",
        app: app.id,
        path: paths.dataOf(name),
        message: "data of no retained version",
        repairable: true,
      });
    }
  }
}

async function inspect(s: Session, ctx: OpContext): Promise<{ check: Check; apps: number }> {
  const check: Check = { findings: [], files: 0 };
  for (const name of await listDir(ctx.paths.staging)) {
    check.findings.push({
      kind: "staging-leftover",
      path: join(ctx.paths.staging, name),
      message: "no transaction owns it",
      repairable: true,
    });
  }
  const apps = await s.registry.list();
  const known = new Set(apps.map((a) => a.id));
  for (const app of apps) await checkApp(ctx, app, check);
  for (const name of await listDir(ctx.paths.apps)) {
    if (known.has(name)) continue;
    const entries = await listDir(join(ctx.paths.apps, name));
    // An app dir holding only data/ is data kept by `uninstall --keep-data`.
    if (entries.length === 1 && entries[0] === "data") continue;
    check.findings.push({
      kind: "app-orphan",
      app: name,
      path: join(ctx.paths.apps, name),
      message: "on disk but not registered",
      repairable: true,
    });
  }
  return { check, apps: apps.length };
}

async function repair(f: Finding, s: Session, ctx: OpContext): Promise<void> {
  switch (f.kind) {
    case "staging-leftover":
    case "version-orphan":
    case "data-orphan":
      await removeTree(f.path);
      return;
    case "current-mismatch": {
      const record = await s.registry.get(f.app!);
      const paths = appPaths(ctx.paths, f.app!);
      await replaceSymlink(paths.current, `versions/${record!.version}`, "doctor");
      return;
    }
    case "app-orphan": {
      // Keep user data; remove what no registry entry accounts for.
      for (const name of await listDir(f.path)) {
        if (name !== "data") await removeTree(join(f.path, name));
      }
      if ((await listDir(f.path)).length === 0) await removeTree(f.path);
      return;
    }
    default:
      throw new NxError("internal.unexpected", `cannot repair ${f.kind}`);
  }
}

export function doctor(
  ctx: OpContext,
  options: ServiceOptions,
  fix: boolean,
): Promise<DoctorReport> {
  // Always the writer's lock: a transaction in flight would otherwise look like leftovers.
  return withSession(
    ctx,
    options,
    { mode: "write", op: "doctor", quarantineCorruptJournal: fix },
    async (s) => {
      let { check, apps } = await inspect(s, ctx);
      const repaired: Finding[] = [];
      if (fix) {
        for (const f of check.findings.filter((f) => f.repairable)) {
          await repair(f, s, ctx);
          repaired.push(f);
        }
        if (repaired.length > 0) {
          ({ check, apps } = await inspect(s, ctx));
          await s.registry.audit({
            time: ctx.now.toISOString(),
            op: "repair",
            appId: "*",
            result: check.findings.length === 0 ? "ok" : "doctor.findings",
            details: { repaired: repaired.map((f) => `${f.kind} ${f.path}`) },
          });
        }
      }
      const report: DoctorReport = {
        ok: check.findings.length === 0,
        apps,
        files: check.files,
        ...(s.recovered
          ? { recovered: `${s.recovered.op} of ${s.recovered.appId}: ${s.recovered.outcome}` }
          : {}),
        findings: check.findings,
        repaired,
      };
      if (!report.ok) {
        for (const f of check.findings) {
          ctx.reporter.emit({
            kind: "warning",
            code: "doctor.findings",
            message: `${f.kind}: ${f.path}: ${f.message}`,
          });
        }
        throw new NxError(
          "doctor.findings",
          `cannot vouch for ${ctx.paths.root}: ${check.findings.length} finding(s)`,
          {
            details: { report },
            hint: check.findings.some((f) => f.repairable)
              ? "run `nx pkg doctor --repair`"
              : "reinstall the affected apps",
          },
        );
      }
      return report;
    },
  );
}
