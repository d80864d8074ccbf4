/**
 * `nx pkg doctor`: an fsck for a state root. Walks the whole root without following a link and
 * holds every entry against the layout (links, special files, set-id and world-writable modes,
 * foreign owners, hard links, strays), re-hashes every installed file against the registry,
 * checks `current` links, compares the registry with the tree, finds leftovers, and notices a
 * lost registry. `--repair` fixes what can be fixed without guessing — never outside the root,
 * never through a link, never by deleting an install — and anything left makes doctor fail.
 * The rules per finding kind: docs/transactions.md#doctor.
 */
import { NxError } from "../errors.ts";
import type { OpContext } from "./context.ts";
import { adoptApp } from "./doctor/adopt.ts";
import {
  type Check,
  checkRegistered,
  checkUnregistered,
  expectedFiles,
  isInstall,
} from "./doctor/compare.ts";
import { gateFindings } from "./doctor/gate.ts";
import { describeMissing } from "./doctor/registry_missing.ts";
import { repair, repairBeforeSession, type RepairOutcome } from "./doctor/repair.ts";
import { type DoctorReport, type Finding, finding, type FindingKind } from "./doctor/types.ts";
import { type RootTree, walkRoot } from "./doctor/walk.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";

export type { DoctorReport, Finding, FindingKind } from "./doctor/types.ts";

interface Inspection {
  check: Check;
  apps: number;
  tree: RootTree;
}

/** A lost registry: one finding, plus the versions a rebuild could not register. */
async function inspectLostRegistry(
  s: Session,
  ctx: OpContext,
  tree: RootTree,
  registry: string,
  check: Check,
): Promise<void> {
  const adoptable: string[] = [];
  const unverified: Finding[] = [];
  for (const t of tree.apps.values()) {
    if (!isInstall(t)) continue;
    const adoption = await adoptApp(t, s, ctx, (v) => `${t.dir}/versions/${v}`);
    if (adoption.record) adoptable.push(t.id);
    unverified.push(...adoption.unverified);
  }
  check.findings.push(finding(
    "registry-missing",
    registry,
    `${describeMissing(s.registryMissing!)}: ${
      adoptable.length > 0
        ? `--repair registers ${adoptable.join(", ")} from the verified trees`
        : "no installed app verifies under this root's policy (trust its publisher first)"
    }`,
    adoptable.length > 0,
    { code: "registry.missing" },
  ));
  check.findings.push(...unverified);
}

async function inspect(s: Session, ctx: OpContext, registry: string): Promise<Inspection> {
  // One registry query; the walk then hashes exactly the files the records list.
  const apps = await s.registry.list();
  const { findings, tree } = walkRoot(ctx.paths, expectedFiles(apps));
  const check: Check = { findings, files: 0 };
  if (s.registryMissing && apps.length === 0) {
    // Compared with an empty registry every install would look like an orphan: not compared.
    await inspectLostRegistry(s, ctx, tree, registry, check);
    return { check, apps: 0, tree };
  }
  const known = new Set(apps.map((a) => a.id));
  for (const app of apps) await checkRegistered(ctx.paths, app, tree, s, ctx, check);
  for (const t of tree.apps.values()) {
    if (!known.has(t.id)) await checkUnregistered(t, s, ctx, ctx.paths, check);
  }
  return { check, apps: apps.length, tree };
}

const UNSAFE: ReadonlySet<FindingKind> = new Set([
  "unsafe-link",
  "special-file",
  "unsafe-mode",
  "foreign-owner",
  "hard-link",
  "stray-entry",
]);

function failure(ctx: OpContext, report: DoctorReport, fix: boolean): NxError {
  for (const f of report.findings) {
    ctx.reporter.emit({
      kind: "warning",
      code: "doctor.findings",
      message: `${f.kind}: ${f.path}: ${f.message}`,
    });
  }
  const repairable = report.findings.some((f) => f.repairable);
  const hint = repairable && !fix
    ? "run `nx pkg doctor --repair`"
    : report.findings.some((f) => UNSAFE.has(f.kind))
    ? "move or fix the reported entries by hand (nx deletes only what it made), then run `nx pkg doctor` again"
    : "reinstall the affected apps";
  const repaired = report.repaired.length > 0 ? ` (${report.repaired.length} repaired)` : "";
  return new NxError(
    "doctor.findings",
    `cannot vouch for ${ctx.paths.root}: ${report.findings.length} finding(s)${repaired}`,
    { details: { report }, hint },
  );
}

/** Runs one repair; a refused repair leaves its finding and says why. */
async function attempt(
  ctx: OpContext,
  f: Finding,
  run: () => Promise<RepairOutcome>,
  repaired: Finding[],
): Promise<void> {
  const outcome = await run();
  if ("action" in outcome) {
    repaired.push({ ...f, action: outcome.action });
    return;
  }
  ctx.reporter.emit({
    kind: "warning",
    code: "doctor.findings",
    message: `cannot repair ${f.kind} ${f.path}: ${outcome.refused}`,
  });
}

export async function doctor(
  ctx: OpContext,
  options: ServiceOptions,
  fix: boolean,
): Promise<DoctorReport> {
  const repaired: Finding[] = [];
  // The session itself locks, reads and writes pkg/: what it would go through is checked first.
  let gate = await gateFindings(ctx.paths);
  if (fix && gate.some((f) => f.repairable)) {
    for (const f of gate.filter((f) => f.repairable)) {
      await attempt(ctx, f, () => repairBeforeSession(f, ctx.paths), repaired);
    }
    gate = await gateFindings(ctx.paths);
  }
  if (gate.length > 0) {
    throw failure(ctx, { ok: false, apps: 0, files: 0, findings: gate, repaired }, fix);
  }
  const registry = options.registryUrl ?? ctx.paths.registryDb;
  // Always the writer's lock: a transaction in flight would otherwise look like leftovers.
  return withSession(
    ctx,
    options,
    {
      mode: "write",
      op: "doctor",
      quarantineCorruptJournal: fix,
      allowMissingRegistry: true,
    },
    async (s) => {
      let { check, apps, tree } = await inspect(s, ctx, registry);
      if (fix) {
        for (const f of check.findings.filter((f) => f.repairable)) {
          await attempt(ctx, f, () => repair(f, ctx.paths, tree, s, ctx), repaired);
        }
        if (repaired.length > 0) {
          ({ check, apps, tree } = await inspect(s, ctx, registry));
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
      if (!report.ok) throw failure(ctx, report, fix);
      return report;
    },
  );
}
