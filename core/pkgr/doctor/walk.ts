/**
 * doctor's walk of a state root: every entry is lstat'ed (store `lstatAt`, which opens each
 * component with O_NOFOLLOW), no link is followed or descended into, and each entry is held
 * against the layout (layout.ts). Produces the findings of unsafe or undefined entries and the
 * tree model the registry comparison reads instead of touching the disk again.
 *
 * Staging leftovers are not descended into: `--repair` removes each whole, and the store's removal
 * never follows a link.
 */
import { join } from "node:path";
import { listDir, lstatAt, readCurrent, type RootPaths } from "../../store/mod.ts";
import {
  currentVersionOf,
  type EntryKind,
  isCurrentTemp,
  isIconName,
  isIconTemp,
  isPkgTemp,
  isQuarantinedJournal,
  PKG_ENTRIES,
  SPECIAL_KINDS,
  unsafeBits,
  wrongType,
} from "./layout.ts";
import { type Finding, finding } from "./types.ts";
import { appPaths } from "../../store/mod.ts";

type Info = NonNullable<Awaited<ReturnType<typeof lstatAt>>>;

export interface AppTree {
  id: string;
  dir: string;
  /** `current`: absent, a link (with its target), or something else standing there. */
  current: { kind: "missing" } | { kind: "link"; target: string } | { kind: "other" };
  /** Real directories in a real `versions/`; `clean` when the tree holds only files and dirs. */
  versions: Map<string, { clean: boolean }>;
  /** Real directories in a real `data/`. */
  data: Set<string>;
}

export interface RootTree {
  /** The uid owning the root directory: every entry must belong to it. */
  uid: number;
  /** Real directories in a real `apps/`, by id. */
  apps: Map<string, AppTree>;
}

interface Walk {
  uid: number;
  findings: Finding[];
}

interface Entry {
  name: string;
  path: string;
  info: Info;
}

const kindOf = (info: Info): EntryKind => info.type;

async function entries(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const name of await listDir(dir)) {
    const path = join(dir, name);
    const info = await lstatAt(path);
    if (info) out.push({ name, path, info });
  }
  return out;
}

/**
 * What a staging leftover holds that is not a copy: a retired version or its data, or a detached
 * app (steps retire-version and detach-app move them there). Repair never deletes those; only a
 * person can tell whether they still matter (an undo that could not complete leaves them).
 */
async function heldFiles(dir: string): Promise<string[]> {
  const moved = new Set(["retired-version", "retired-data", "app", "versions", "current"]);
  return (await listDir(dir)).filter((name) => moved.has(name));
}

/** Owner, set-id and world-writable bits, special types: the checks every entry gets. */
function checkEntry(w: Walk, e: Entry, app?: string): void {
  const extra = { app };
  if (e.info.uid !== w.uid) {
    w.findings.push(finding(
      "foreign-owner",
      e.path,
      `owned by uid ${e.info.uid}, the root by uid ${w.uid}`,
      false,
      extra,
    ));
  }
  const bits = e.info.type === "symlink" ? [] : unsafeBits(e.info.perm);
  if (bits.length > 0) {
    w.findings.push(finding(
      "unsafe-mode",
      e.path,
      `${bits.join(", ")} (mode ${e.info.perm.toString(8).padStart(4, "0")})`,
      false,
      extra,
    ));
  }
  if (SPECIAL_KINDS.has(kindOf(e.info))) {
    w.findings.push(finding(
      "special-file",
      e.path,
      `a ${e.info.type} device or pipe where nx keeps only files and directories`,
      false,
      extra,
    ));
  }
}

function link(w: Walk, e: Entry, removable: boolean, where: string, app?: string): void {
  w.findings.push(finding(
    "unsafe-link",
    e.path,
    `a symbolic link ${where}; nx never follows it${
      removable ? "" : " (put the real entry back by hand)"
    }`,
    removable,
    { app },
  ));
}

/**
 * Reports `e` when it is not of type `want` (a link, a special file or another type standing
 * where the layout defines a `want`). A special file was reported by checkEntry already.
 */
function expect(
  w: Walk,
  e: Entry,
  want: "file" | "dir",
  removableLink: boolean,
  app?: string,
): boolean {
  if (e.info.type === want) return true;
  const kind = wrongType(kindOf(e.info));
  if (kind === "unsafe-link") link(w, e, removableLink, `where the layout has a ${want}`, app);
  else if (kind === "stray-entry") {
    w.findings.push(finding(
      "stray-entry",
      e.path,
      `a ${e.info.type} where the layout has a ${want}`,
      false,
      { app },
    ));
  }
  return false;
}

function stray(w: Walk, e: Entry, where: string, app?: string): void {
  w.findings.push(finding(
    "stray-entry",
    e.path,
    `not part of the layout of ${where}; nx leaves it alone`,
    false,
    { app },
  ));
}

function tempLeftover(w: Walk, e: Entry, app?: string): void {
  w.findings.push(finding(
    "temp-leftover",
    e.path,
    "the temp name of a write that never finished",
    true,
    { app },
  ));
}

interface TreeRules {
  /** Whether a link inside may be removed by `--repair` (version trees: nx's own copies). */
  removableLinks: boolean;
  /** Whether a hard-linked file is a finding (version trees and pkg/). */
  hardLinks: boolean;
  where: string;
}

/** A tree of content (a version, an app's data, a stray directory): generic checks at any depth. */
async function walkTree(w: Walk, dir: string, rules: TreeRules, app?: string): Promise<boolean> {
  let clean = true;
  for (const e of await entries(dir)) {
    checkEntry(w, e, app);
    if (e.info.type === "symlink") {
      link(w, e, rules.removableLinks, rules.where, app);
      clean = false;
    } else if (e.info.type === "dir") {
      clean = (await walkTree(w, e.path, rules, app)) && clean;
    } else if (e.info.type === "file") {
      if (rules.hardLinks && e.info.nlink > 1) {
        w.findings.push(finding(
          "hard-link",
          e.path,
          `a file with ${e.info.nlink} names: another name, maybe outside the root, shares its bytes`,
          false,
          { app },
        ));
        clean = false;
      }
    } else clean = false;
  }
  return clean;
}

const STRAY_TREE: TreeRules = {
  removableLinks: false,
  hardLinks: false,
  where: "inside a stray entry",
};

async function strayWithContent(w: Walk, e: Entry, where: string, app?: string): Promise<void> {
  if (e.info.type === "symlink") {
    return link(w, e, false, `not part of the layout of ${where}`, app);
  }
  if (SPECIAL_KINDS.has(kindOf(e.info))) return;
  stray(w, e, where, app);
  if (e.info.type === "dir") await walkTree(w, e.path, STRAY_TREE, app);
}

async function walkCache(w: Walk, cache: string): Promise<void> {
  for (const e of await entries(cache)) {
    checkEntry(w, e);
    if (e.name !== "icons") {
      await strayWithContent(w, e, "pkg/cache/");
      continue;
    }
    if (!expect(w, e, "dir", true)) continue;
    for (const icons of await entries(e.path)) {
      checkEntry(w, icons);
      if (!expect(w, icons, "dir", true)) continue;
      for (const icon of await entries(icons.path)) {
        checkEntry(w, icon);
        if (isIconTemp(icon.name) && icon.info.type === "file") tempLeftover(w, icon);
        else if (isIconName(icon.name)) expect(w, icon, "file", true);
        else await strayWithContent(w, icon, "an icon cache directory");
      }
    }
  }
}

async function walkPkg(w: Walk, paths: RootPaths): Promise<void> {
  for (const e of await entries(paths.pkg)) {
    checkEntry(w, e);
    const defined = PKG_ENTRIES[e.name];
    if (defined) {
      if (!expect(w, e, defined.type, defined.removableLink)) continue;
      if (e.info.type === "file" && e.info.nlink > 1) {
        w.findings.push(finding(
          "hard-link",
          e.path,
          `a file with ${e.info.nlink} names: another name, maybe outside the root, shares its bytes`,
          false,
        ));
      }
      if (e.name === "staging") {
        for (const s of await entries(e.path)) {
          const held = s.info.type === "dir" ? await heldFiles(s.path) : [];
          w.findings.push(finding(
            "staging-leftover",
            s.path,
            s.info.type === "symlink"
              ? "a link no transaction owns (removing it leaves its target alone)"
              : held.length > 0
              ? `holds files an interrupted transaction moved out of an app (${
                held.join(", ")
              }): put them back or delete them by hand`
              : "no transaction owns it",
            held.length === 0,
          ));
        }
      } else if (e.name === "cache") await walkCache(w, e.path);
    } else if (isQuarantinedJournal(e.name)) {
      expect(w, e, "file", false);
    } else if (isPkgTemp(e.name) && e.info.type === "file") {
      tempLeftover(w, e);
    } else await strayWithContent(w, e, "pkg/");
  }
}

async function walkApp(w: Walk, paths: RootPaths, e: Entry): Promise<AppTree> {
  const id = e.name;
  const tree: AppTree = {
    id,
    dir: e.path,
    current: { kind: "missing" },
    versions: new Map(),
    data: new Set(),
  };
  for (const c of await entries(e.path)) {
    checkEntry(w, c, id);
    if (c.name === "current") {
      if (c.info.type !== "symlink") {
        tree.current = { kind: "other" };
        if (!SPECIAL_KINDS.has(kindOf(c.info))) {
          w.findings.push(finding(
            "stray-entry",
            c.path,
            `a ${c.info.type} where the layout has the current link`,
            false,
            { app: id },
          ));
        }
        continue;
      }
      const target = (await readCurrent(appPaths(paths, id))) ?? "";
      tree.current = { kind: "link", target };
      if (currentVersionOf(target) === undefined) {
        // Not repaired here: for a registered app current-mismatch relinks it atomically.
        link(w, c, false, `whose target ${JSON.stringify(target)} is not versions/<v>`, id);
      }
    } else if (c.name === "versions") {
      if (!expect(w, c, "dir", false, id)) continue;
      for (const v of await entries(c.path)) {
        checkEntry(w, v, id);
        if (!expect(w, v, "dir", false, id)) continue;
        const clean = await walkTree(w, v.path, {
          removableLinks: true,
          hardLinks: true,
          where: "inside an installed version",
        }, id);
        tree.versions.set(v.name, { clean });
      }
    } else if (c.name === "data") {
      if (!expect(w, c, "dir", false, id)) continue;
      for (const d of await entries(c.path)) {
        checkEntry(w, d, id);
        if (!expect(w, d, "dir", false, id)) continue;
        tree.data.add(d.name);
        await walkTree(w, d.path, {
          removableLinks: false,
          hardLinks: false,
          where: "inside app data (left to its owner)",
        }, id);
      }
    } else if (isCurrentTemp(c.name) && (c.info.type === "symlink" || c.info.type === "file")) {
      tempLeftover(w, c, id);
    } else await strayWithContent(w, c, "an app directory", id);
  }
  return tree;
}

/** Walks the whole root (which must exist) and returns the findings and the tree model. */
export async function walkRoot(paths: RootPaths): Promise<{ findings: Finding[]; tree: RootTree }> {
  const rootInfo = await Deno.stat(paths.root);
  const w: Walk = { uid: rootInfo.uid ?? 0, findings: [] };
  const tree: RootTree = { uid: w.uid, apps: new Map() };
  const rootBits = unsafeBits(rootInfo.mode ?? 0);
  if (rootBits.length > 0) {
    w.findings.push(finding("unsafe-mode", paths.root, `${rootBits.join(", ")} root`, false));
  }
  for (const e of await entries(paths.root)) {
    checkEntry(w, e);
    if (e.name === "pkg") {
      if (expect(w, e, "dir", false)) await walkPkg(w, paths);
    } else if (e.name === "apps") {
      if (!expect(w, e, "dir", false)) continue;
      for (const a of await entries(paths.apps)) {
        checkEntry(w, a, a.name);
        if (a.info.type === "symlink") link(w, a, false, "where the layout has an app directory");
        else if (expect(w, a, "dir", false)) tree.apps.set(a.name, await walkApp(w, paths, a));
      }
    } else await strayWithContent(w, e, "the root");
  }
  return { findings: w.findings, tree };
}
