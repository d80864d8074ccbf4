/**
 * Each plan step as a do/undo pair, written symmetrically. Every undo is idempotent and works
 * from the journal alone (after a crash it may run for a step that never finished).
 */
import { join } from "node:path";
import type { Plan, Step } from "../plan/mod.ts";
import {
  appPaths,
  copyDataTree,
  copyVerifiedBundle,
  exists,
  fsyncDir,
  mkdirp,
  moveIfPresent,
  removeIfEmpty,
  removeTree,
  replaceSymlink,
  stagingPaths,
  tempLinkName,
} from "../store/mod.ts";
import { NxError } from "../errors.ts";
import type { ApplyEnv } from "./env.ts";

type StepOf<K extends Step["kind"]> = Extract<Step, { kind: K }>;
interface StepImpl<K extends Step["kind"]> {
  do(step: StepOf<K>, plan: Plan, env: ApplyEnv): Promise<void>;
  undo(step: StepOf<K>, plan: Plan, env: ApplyEnv): Promise<void>;
}
type StepTable = { [K in Step["kind"]]: StepImpl<K> };

const app = (plan: Plan, env: ApplyEnv) => appPaths(env.paths, plan.appId);
const staging = (plan: Plan, env: ApplyEnv) => stagingPaths(env.paths, plan.txid);

async function removeAndSync(path: string): Promise<void> {
  if (!(await exists(path))) return;
  await removeTree(path);
  await fsyncDir(join(path, ".."));
}

export const STEPS: StepTable = {
  "create-app-dir": {
    async do(_s, plan, env) {
      const a = app(plan, env);
      for (const dir of [a.dir, a.versions, a.data]) await mkdirp(dir);
      await fsyncDir(a.dir);
      await fsyncDir(env.paths.apps);
    },
    async undo(_s, plan, env) {
      // Only empty directories go: never data that something else put there.
      const a = app(plan, env);
      for (const dir of [a.versions, a.data, a.dir]) await removeIfEmpty(dir);
      await fsyncDir(env.paths.apps);
    },
  },
  "stage-version": {
    async do(_s, plan, env) {
      const files = plan.after!.versions[0].files;
      // trust: staging is 0700, so nothing copied is readable by others before its digest matched
      await mkdirp(staging(plan, env).dir, 0o700);
      await copyVerifiedBundle(
        plan.source!,
        staging(plan, env).version,
        files,
        (done, total) => env.reporter.emit({ kind: "progress", phase: "staging", done, total }),
      );
    },
    async undo(_s, plan, env) {
      await removeTree(staging(plan, env).version);
    },
  },
  "prepare-data": {
    async do(step, plan, env) {
      const target = staging(plan, env).data;
      await removeTree(target);
      if (step.from === null) {
        await mkdirp(target);
        await fsyncDir(staging(plan, env).dir);
      } else {
        await copyDataTree(app(plan, env).dataOf(step.from), target);
        await fsyncDir(staging(plan, env).dir);
      }
    },
    async undo(_s, plan, env) {
      await removeTree(staging(plan, env).data);
    },
  },
  "run-migrations": {
    async do(step, plan, env) {
      const s = staging(plan, env);
      await env.runMigrations(step.chain, s.version, s.data, plan);
    },
    async undo() {
      // Migrations only touched the staging copy, which the data undo discards.
    },
  },
  "retire-version": {
    async do(step, plan, env) {
      await moveIfPresent(app(plan, env).version(step.version), staging(plan, env).retiredVersion);
      await moveIfPresent(app(plan, env).dataOf(step.version), staging(plan, env).retiredData);
    },
    async undo(step, plan, env) {
      await moveIfPresent(staging(plan, env).retiredVersion, app(plan, env).version(step.version));
      await moveIfPresent(staging(plan, env).retiredData, app(plan, env).dataOf(step.version));
    },
  },
  "publish-version": {
    async do(step, plan, env) {
      await mkdirp(app(plan, env).versions);
      await moveIfPresent(staging(plan, env).version, app(plan, env).version(step.version));
    },
    async undo(step, plan, env) {
      await removeAndSync(app(plan, env).version(step.version));
    },
  },
  "publish-data": {
    async do(step, plan, env) {
      await mkdirp(app(plan, env).data);
      await moveIfPresent(staging(plan, env).data, app(plan, env).dataOf(step.version));
    },
    async undo(step, plan, env) {
      await removeAndSync(app(plan, env).dataOf(step.version));
    },
  },
  "switch-current": {
    async do(step, plan, env) {
      await replaceSymlink(app(plan, env).current, `versions/${step.to}`, plan.txid);
    },
    async undo(step, plan, env) {
      const a = app(plan, env);
      await removeTree(tempLinkName(a.current, plan.txid));
      if (step.from !== null) await replaceSymlink(a.current, `versions/${step.from}`, plan.txid);
      else await removeAndSync(a.current);
    },
  },
  "commit-registry": {
    async do(_s, plan, env) {
      if (plan.after) await env.registry.register(plan.after);
      else await env.registry.unregister(plan.appId);
    },
    async undo(_s, plan, env) {
      if (plan.before) await env.registry.register(plan.before);
      else await env.registry.unregister(plan.appId);
    },
  },
  "verify-staged": {
    async do(step, plan, env) {
      if (!env.verifyStaged) {
        throw new NxError("internal.unexpected", `cannot verify ${plan.appId}: no verifier`);
      }
      await env.verifyStaged(staging(plan, env).version, step.version, plan);
    },
    async undo() {
      // Verification reads the staged copy only.
    },
  },
  "retire-files": {
    async do(step, plan, env) {
      await mkdirp(staging(plan, env).dir, 0o700);
      await moveIfPresent(app(plan, env).version(step.version), staging(plan, env).retiredVersion);
    },
    async undo(step, plan, env) {
      await moveIfPresent(staging(plan, env).retiredVersion, app(plan, env).version(step.version));
    },
  },
  "detach-data": {
    async do(_s, plan, env) {
      await mkdirp(staging(plan, env).dir, 0o700);
      await moveIfPresent(app(plan, env).data, staging(plan, env).detachedData);
    },
    async undo(_s, plan, env) {
      await moveIfPresent(staging(plan, env).detachedData, app(plan, env).data);
    },
  },
  "create-data": {
    async do(step, plan, env) {
      const a = app(plan, env);
      for (const v of step.versions) await mkdirp(a.dataOf(v));
      await mkdirp(a.data);
      await fsyncDir(a.data);
      await fsyncDir(a.dir);
    },
    async undo(_s, plan, env) {
      // Only after detach-data moved the old data aside: what is here now was made by this step.
      await removeAndSync(app(plan, env).data);
    },
  },
  "detach-app": {
    async do(step, plan, env) {
      const a = app(plan, env);
      const s = staging(plan, env);
      await mkdirp(s.dir, 0o700);
      if (step.keepData) {
        await moveIfPresent(a.current, s.detachedCurrent);
        await moveIfPresent(a.versions, s.detachedVersions);
      } else {
        await moveIfPresent(a.dir, s.detached);
      }
    },
    async undo(step, plan, env) {
      const a = app(plan, env);
      const s = staging(plan, env);
      if (step.keepData) {
        await moveIfPresent(s.detachedVersions, a.versions);
        await moveIfPresent(s.detachedCurrent, a.current);
      } else {
        await moveIfPresent(s.detached, a.dir);
      }
    },
  },
};

export function doStep(step: Step, plan: Plan, env: ApplyEnv): Promise<void> {
  return (STEPS[step.kind] as StepImpl<typeof step.kind>).do(step as never, plan, env);
}

export function undoStep(step: Step, plan: Plan, env: ApplyEnv): Promise<void> {
  return (STEPS[step.kind] as StepImpl<typeof step.kind>).undo(step as never, plan, env);
}
