/**
 * Whether each app's `current` link leads to the version the registry names, for `list`: an app
 * whose link is missing, is not a link, names another version or names a version directory that
 * does not exist is shown `broken` (with why), never `active`. The same rule as doctor's
 * `current-mismatch`, read with the same no-follow scan; a few calls per app. An app a journal
 * names (`pending`) is mid-transaction: its link may be mid-switch, so it is left alone.
 */
import type { AppSummary } from "../../api/mod.ts";
import { NxError } from "../../errors.ts";
import { DirScan, type RootPaths, within } from "../../store/mod.ts";

/**
 * Why `current` of the app in `app` does not lead to `versions/<version>`, or undefined. Three
 * calls when it does: read the link, open `versions/` (never through a link), stat the version.
 */
function problemOf(app: DirScan, version: string): string | undefined {
  const target = app.readLink("current");
  if (target === undefined) {
    const current = app.entry("current");
    return current === undefined
      ? "its current link is missing"
      : `its current is a ${current.info.type}, not a link`;
  }
  if (target !== `versions/${version}`) {
    return `current links to ${JSON.stringify(target)}, not versions/${version}`;
  }
  const there = within(app.sub("versions"), (d) => d.entry(version)?.info.type === "dir");
  return there ? undefined : `current links to versions/${version}, which is not a directory`;
}

/** The summaries, each app whose `current` does not lead to its version marked `broken`. */
export function withCurrentState(paths: RootPaths, apps: AppSummary[]): AppSummary[] {
  if (!apps.some((a) => a.state !== "pending")) return apps;
  const broken = (a: AppSummary, problem: string): AppSummary => ({
    ...a,
    state: "broken",
    problem,
  });
  try {
    return within(DirScan.openRoot(paths.root), (root) => {
      return within(root.sub("apps"), (all) =>
        apps.map((a) => {
          if (a.state === "pending") return a;
          const app = all.sub(a.id);
          if (app === undefined) return broken(a, "its app directory is missing");
          const problem = within(app, (d) => problemOf(d, a.version));
          return problem === undefined ? a : broken(a, problem);
        })) ?? apps.map((a) => a.state === "pending" ? a : broken(a, "apps/ is missing"));
    })!;
  } catch (e) {
    // list reads the registry; an unreadable tree is doctor's to report, not list's to fail on.
    if (e instanceof NxError) return apps;
    throw e;
  }
}
