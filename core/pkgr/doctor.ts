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
import { annotate, REPAIR, summarize } from "./doctor/next_step.ts";
import { type DoctorReport, type Finding, finding } from "./doctor/types.ts";
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
  const active = new Map(apps.map((a) => [a.id, a.version]));
  const steps = { root: ctx.paths.root, uid: tree.uid, activeOf: (id: string) => active.get(id) };
  if (s.registryMissing && apps.length === 0) {
    // Compared with an empty registry every install would look like an orphan: not compared.
    await inspectLostRegistry(s, ctx, tree, registry, check);
    check.findings = annotate(check.findings, steps);
    return { check, apps: 0, tree };
  }
  const known = new Set(apps.map((a) => a.id));
  for (const app of apps) await checkRegistered(ctx.paths, app, tree, s, ctx, check);
  for (const t of tree.apps.values()) {
    if (!known.has(t.id)) await checkUnregistered(t, s, ctx, ctx.paths, check);
  }
  check.findings = annotate(check.findings, steps);
  return { check, apps: apps.length, tree };
}

function failure(ctx: OpContext, report: DoctorReport, fix: boolean): NxError {
  const left = report.findings.filter((f) => f.repairable && f.refused === undefined).length;
  const fixed = report.repaired.length > 0 ? ` (--repair fixed ${report.repaired.length})` : "";
  const n = report.findings.length;
  const hint = left === 0 || fix
    ? "follow the next step given for each problem, then run `nx pkg doctor` again"
    : left === n
    ? `run \`${REPAIR}\` (it fixes ${n === 1 ? "it" : `all ${n}`})`
    : `run \`${REPAIR}\` (it fixes ${left} of ${n}); the others name their next step`;
  return new NxError(
    "doctor.findings",
    `cannot vouch for ${ctx.paths.root}: ${summarize(report.findings)}${fixed}`,
    { details: { report }, hint },
  );
}

/** Runs one repair; a refused repair leaves its finding, and why is kept for it. */
async function attempt(
  f: Finding,
  run: () => Promise<RepairOutcome>,
  repaired: Finding[],
  refused: Map<string, string>,
): Promise<void> {
  const outcome = await run();
  if ("action" in outcome) {
    const { hint: _, ...done } = f;
    repaired.push({ ...done, action: outcome.action });
  } else refused.set(`${f.kind} ${f.path}`, outcome.refused);
}

/** The findings left, each refused repair's reason on its finding. */
const withRefusals = (findings: Finding[], refused: Map<string, string>): Finding[] =>
  findings.map((f) => {
    const why = refused.get(`${f.kind} ${f.path}`);
    return why === undefined ? f : { ...f, refused: why };
  });

export async function doctor(
  ctx: OpContext,
  options: ServiceOptions,
  fix: boolean,
): Promise<DoctorReport> {
  const repaired: Finding[] = [];
  const refused = new Map<string, string>();
  // The session itself locks, reads and writes pkg/: what it would go through is checked first.
  const gated = async () =>
    annotate(await gateFindings(ctx.paths), {
      root: ctx.paths.root,
      activeOf: () => undefined,
    });
  let gate = await gated();
  if (fix && gate.some((f) => f.repairable)) {
    for (const f of gate.filter((f) => f.repairable)) {
      await attempt(f, () => repairBeforeSession(f, ctx.paths), repaired, refused);
    }
    gate = await gated();
  }
  if (gate.length > 0) {
    const findings = withRefusals(gate, refused);
    throw failure(ctx, { ok: false, apps: 0, files: 0, findings, repaired }, fix);
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
          await attempt(f, () => repair(f, ctx.paths, tree, s, ctx), repaired, refused);
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
        findings: withRefusals(check.findings, refused),
        repaired,
      };
      if (!report.ok) throw failure(ctx, report, fix);
      return report;
    },
  );
}
