/**
 * What a person does about each finding: the version it is about and the next step, naming the
 * exact command where one exists (docs/transactions.md#doctor lists them per kind). No I/O.
 *
 * `nx pkg repair <app>` restages the active version from its own tree, so it drops unexpected
 * files and breaks hard links, but cannot bring back bytes that are missing or changed (nx keeps no
 * other copy): those need the bundle, `nx pkg install --reinstall <bundle>`. Both restore only the
 * active version: an older retained one is reached by a rollback first.
 */
import { relative } from "node:path";
import type { Finding } from "./types.ts";

export interface StepContext {
  root: string;
  /** The uid owning the root (every entry must belong to it), once the walk has read it. */
  uid?: number;
  /** The registry's active version of an app; undefined for an app it does not list. */
  activeOf(app: string): string | undefined;
  /**
   * Whether bytes of this version are missing or changed (annotate() sets it from the findings):
   * then `nx pkg repair` cannot restore it, so even its unexpected files need the bundle.
   */
  lost?(app: string, version: string): boolean;
}

export const REPAIR = "nx pkg doctor --repair";
const AGAIN = "then run `nx pkg doctor` again";

/** The version named by `apps/<id>/versions/<v>/…` or `apps/<id>/data/<v>/…`. */
export function versionOfPath(root: string, path: string): string | undefined {
  const m = /^apps\/[^/]+\/(?:versions|data)\/([^/]+)/.exec(relative(root, path));
  return m?.[1];
}

const q = (path: string) => `'${path.replaceAll("'", `'\\''`)}'`;

/** Files of a version that differ from its bundle: restore the active one, roll back to another. */
function restore(
  app: string,
  version: string | undefined,
  active: string | undefined,
  fromTree: boolean,
) {
  const reinstall = `nx pkg install --reinstall <${app}${version ? `-${version}` : ""}.nxb>`;
  const fix = fromTree ? `nx pkg repair ${app}` : reinstall;
  if (active === undefined || version === undefined || version === active) return fix;
  return `${version} is not the active version (${active}): run \`nx pkg rollback ${app} --to ${version}\`, then \`${fix}\``;
}

const LOST: ReadonlySet<string> = new Set(["file-missing", "file-digest-mismatch"]);
const lostIn = (f: Finding, ctx: StepContext) =>
  f.app !== undefined && f.version !== undefined && (ctx.lost?.(f.app, f.version) ?? false);

export function nextStep(f: Finding, ctx: StepContext): string {
  if (f.repairable) return REPAIR;
  const app = f.app;
  const active = app === undefined ? undefined : ctx.activeOf(app);
  const version = f.version;
  switch (f.kind) {
    case "file-unexpected":
      return restore(app!, version, active, !lostIn(f, ctx));
    case "file-missing":
    case "file-digest-mismatch":
    case "version-missing":
      return restore(app!, version, active, false);
    case "hard-link":
      return app !== undefined
        ? restore(app, version, active, !lostIn(f, ctx))
        : `give it a name of its own (\`cp -p ${q(f.path)} ${q(f.path)}.own && mv ${
          q(f.path)
        }.own ${q(f.path)}\`), ${AGAIN}`;
    case "data-missing":
      return version !== undefined && version === active
        ? `nx pkg clear-data ${app} (recreates it empty: the data is gone)`
        : `nothing to restore it from: a rollback to ${version} would start without data`;
    case "app-dir-missing":
      return `nx pkg uninstall ${app}, then install it again from its bundle`;
    case "current-mismatch":
      return `move ${q(f.path)} out of the way, then run \`${REPAIR}\``;
    case "unsafe-mode":
      return `chmod u-s,g-s,o-w ${q(f.path)}, ${AGAIN}`;
    case "foreign-owner":
      return `find out who wrote it; move it out of the root or \`chown ${
        ctx.uid ?? "<the root's owner>"
      } ${q(f.path)}\`, ${AGAIN}`;
    case "unsafe-link":
      return `put the real entry back in place of the link by hand, ${AGAIN}`;
    case "special-file":
    case "stray-entry":
      return `move it out of the root (nx deletes only what it made), ${AGAIN}`;
    case "staging-leftover":
      return `put the files back where they came from or delete ${q(f.path)} by hand, ${AGAIN}`;
    case "version-orphan":
    case "app-orphan":
    case "version-unverified":
      return `trust its publisher (\`nx pkg trust add …\`) and run \`${REPAIR}\`, or delete ${
        q(f.path)
      } by hand`;
    case "registry-missing":
      return `trust the apps' publisher (\`nx pkg trust add …\`), then run \`${REPAIR}\``;
    case "temp-leftover":
    case "data-orphan":
      return REPAIR;
  }
}

/** The findings with their version and next step set (a new array; the input is not changed). */
export function annotate(findings: readonly Finding[], ctx: StepContext): Finding[] {
  const versioned = findings.map((f) => {
    const version = f.version ??
      (f.kind === "current-mismatch" && f.app !== undefined
        ? ctx.activeOf(f.app)
        : versionOfPath(ctx.root, f.path));
    return version === undefined ? f : { ...f, version };
  });
  const lost = new Set(
    versioned.filter((f) => LOST.has(f.kind)).map((f) => `${f.app} ${f.version}`),
  );
  const steps = { ...ctx, lost: (app: string, v: string) => lost.has(`${app} ${v}`) };
  return versioned.map((f) => ({ ...f, hint: nextStep(f, steps) }));
}

/** "2 problems in 1 app", "1 problem outside the apps", "3 problems: 2 in 1 app, 1 outside …". */
export function summarize(findings: readonly Finding[]): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  const inApps = findings.filter((f) => f.app !== undefined);
  const apps = new Set(inApps.map((f) => f.app)).size;
  const outside = findings.length - inApps.length;
  if (outside === 0) return `${n(findings.length, "problem")} in ${n(apps, "app")}`;
  if (inApps.length === 0) return `${n(outside, "problem")} outside the apps`;
  return `${n(findings.length, "problem")}: ${inApps.length} in ${
    n(apps, "app")
  }, ${outside} outside the apps`;
}
