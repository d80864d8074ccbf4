/**
 * doctor's walk of a state root: every directory is opened once without following a link and
 * every entry lstat'ed relative to its descriptor (store `DirScan`), no link is followed or
 * descended into, and each entry is held against the layout (layout.ts). One pass, synchronous:
 * its cost is one `fstatat` per entry, whatever the depth. Produces the findings of unsafe or undefined entries and the
 * tree model the registry comparison reads instead of touching the disk again.
 *
 * Staging leftovers are not descended into: `--repair` removes each whole, and the store's removal
 * never follows a link.
 */
import { DirScan, type RootPaths, type ScanEntry, within } from "../../store/mod.ts";
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

type Entry = ScanEntry;
type Info = Entry["info"];

export interface AppTree {
  id: string;
  dir: string;
  /** `current`: absent, a link (with its target), or something else standing there. */
  current: { kind: "missing" } | { kind: "link"; target: string } | { kind: "other" };
  /**
   * Real directories in a real `versions/`; `clean` when the tree holds only files and dirs,
   * `files` its regular files (hashed where the registry expects them).
   */
  versions: Map<string, { clean: boolean; files: VersionFiles }>;
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

const kindOf = (info: Info): EntryKind => info.type;

/**
 * What a staging leftover holds that is not a copy: a retired version or its data, or a detached
 * app (steps retire-version and detach-app move them there). Repair never deletes those; only a
 * person can tell whether they still matter (an undo that could not complete leaves them).
 */
function heldFiles(dir: DirScan): string[] {
  const moved = new Set(["retired-version", "retired-data", "app", "versions", "current"]);
  return dir.entries().map((e) => e.name).filter((name) => moved.has(name));
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

/** The regular files of a version tree, by path inside it, and what the walk read of them. */
export type VersionFiles = Map<string, FileSeen>;

export interface FileSeen {
  size: number;
  /** Set only for a file the registry expects at this path with this size (the rest is unread). */
  sha256?: string;
}

/** What the registry expects in a version tree: its files' sizes by path (only those are read). */
export type Expected = (app: string, version: string) => ReadonlyMap<string, number> | undefined;

interface Collect {
  files: VersionFiles;
  want: ReadonlyMap<string, number>;
  /** The directory's path inside the version tree ("" at its top). */
  rel: string;
}

function collectFile(d: DirScan, e: Entry, into: Collect): void {
  const rel = into.rel === "" ? e.name : `${into.rel}/${e.name}`;
  const seen: FileSeen = { size: e.info.size };
  // The bytes read are the bytes the registry says are there: nothing else is hashed.
  if (into.want.get(rel) === e.info.size && e.info.nlink === 1) {
    const sha256 = d.sha256(e);
    if (sha256 !== undefined) seen.sha256 = sha256;
  }
  into.files.set(rel, seen);
}

/**
 * A tree of content (a version, an app's data, a stray directory): generic checks at any depth.
 * Whether it is clean (only files and directories, no hard link where that is a finding); a
 * directory that could not be opened (swapped since its listing) is not clean. With `collect`
 * (a version tree), its regular files are recorded and the expected ones hashed in the same pass.
 */
function walkTree(
  w: Walk,
  dir: DirScan | undefined,
  rules: TreeRules,
  app?: string,
  collect?: Collect,
): boolean {
  return within(dir, (d) => {
    let clean = true;
    for (const e of d.entries()) {
      checkEntry(w, e, app);
      if (e.info.type === "symlink") {
        link(w, e, rules.removableLinks, rules.where, app);
        clean = false;
      } else if (e.info.type === "dir") {
        const sub = collect && {
          ...collect,
          rel: collect.rel === "" ? e.name : `${collect.rel}/${e.name}`,
        };
        clean = walkTree(w, d.sub(e), rules, app, sub) && clean;
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
        if (collect) collectFile(d, e, collect);
      } else clean = false;
    }
    return clean;
  }) ?? false;
}

const STRAY_TREE: TreeRules = {
  removableLinks: false,
  hardLinks: false,
  where: "inside a stray entry",
};

function strayWithContent(w: Walk, d: DirScan, e: Entry, where: string, app?: string): void {
  if (e.info.type === "symlink") {
    return link(w, e, false, `not part of the layout of ${where}`, app);
  }
  if (SPECIAL_KINDS.has(kindOf(e.info))) return;
  stray(w, e, where, app);
  if (e.info.type === "dir") walkTree(w, d.sub(e), STRAY_TREE, app);
}

function walkCache(w: Walk, cache: DirScan): void {
  for (const e of cache.entries()) {
    checkEntry(w, e);
    if (e.name !== "icons") {
      strayWithContent(w, cache, e, "pkg/cache/");
      continue;
    }
    if (!expect(w, e, "dir", true)) continue;
    within(cache.sub(e), (all) => {
      for (const icons of all.entries()) {
        checkEntry(w, icons);
        if (!expect(w, icons, "dir", true)) continue;
        within(all.sub(icons), (one) => {
          for (const icon of one.entries()) {
            checkEntry(w, icon);
            if (isIconTemp(icon.name) && icon.info.type === "file") tempLeftover(w, icon);
            else if (isIconName(icon.name)) expect(w, icon, "file", true);
            else strayWithContent(w, one, icon, "an icon cache directory");
          }
        });
      }
    });
  }
}

function walkStaging(w: Walk, staging: DirScan): void {
  for (const s of staging.entries()) {
    const held = s.info.type === "dir" ? within(staging.sub(s), heldFiles) ?? [] : [];
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
}

function walkPkg(w: Walk, pkg: DirScan): void {
  for (const e of pkg.entries()) {
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
      if (e.name === "staging") within(pkg.sub(e), (d) => walkStaging(w, d));
      else if (e.name === "cache") within(pkg.sub(e), (d) => walkCache(w, d));
    } else if (isQuarantinedJournal(e.name)) {
      expect(w, e, "file", false);
    } else if (isPkgTemp(e.name) && e.info.type === "file") {
      tempLeftover(w, e);
    } else strayWithContent(w, pkg, e, "pkg/");
  }
}

const VERSION_TREE: TreeRules = {
  removableLinks: true,
  hardLinks: true,
  where: "inside an installed version",
};

const DATA_TREE: TreeRules = {
  removableLinks: false,
  hardLinks: false,
  where: "inside app data (left to its owner)",
};

function walkCurrent(w: Walk, app: DirScan, c: Entry, tree: AppTree): void {
  if (c.info.type !== "symlink") {
    tree.current = { kind: "other" };
    if (!SPECIAL_KINDS.has(kindOf(c.info))) {
      w.findings.push(finding(
        "stray-entry",
        c.path,
        `a ${c.info.type} where the layout has the current link`,
        false,
        { app: tree.id },
      ));
    }
    return;
  }
  const target = app.readLink(c) ?? "";
  tree.current = { kind: "link", target };
  if (currentVersionOf(target) === undefined) {
    // Not repaired here: for a registered app current-mismatch relinks it atomically.
    link(w, c, false, `whose target ${JSON.stringify(target)} is not versions/<v>`, tree.id);
  }
}

function walkApp(w: Walk, app: DirScan, id: string, expected: Expected): AppTree {
  const tree: AppTree = {
    id,
    dir: app.path,
    current: { kind: "missing" },
    versions: new Map(),
    data: new Set(),
  };
  for (const c of app.entries()) {
    checkEntry(w, c, id);
    if (c.name === "current") walkCurrent(w, app, c, tree);
    else if (c.name === "versions") {
      if (!expect(w, c, "dir", false, id)) continue;
      within(app.sub(c), (versions) => {
        for (const v of versions.entries()) {
          checkEntry(w, v, id);
          if (!expect(w, v, "dir", false, id)) continue;
          const collect = { files: new Map(), want: expected(id, v.name) ?? NONE, rel: "" };
          const clean = walkTree(w, versions.sub(v), VERSION_TREE, id, collect);
          tree.versions.set(v.name, { clean, files: collect.files });
        }
      });
    } else if (c.name === "data") {
      if (!expect(w, c, "dir", false, id)) continue;
      within(app.sub(c), (data) => {
        for (const d of data.entries()) {
          checkEntry(w, d, id);
          if (!expect(w, d, "dir", false, id)) continue;
          tree.data.add(d.name);
          walkTree(w, data.sub(d), DATA_TREE, id);
        }
      });
    } else if (isCurrentTemp(c.name) && (c.info.type === "symlink" || c.info.type === "file")) {
      tempLeftover(w, c, id);
    } else strayWithContent(w, app, c, "an app directory", id);
  }
  return tree;
}

const NONE: ReadonlyMap<string, number> = new Map();

/**
 * Walks the whole root (which must exist) and returns the findings and the tree model; the files
 * of each version tree that `expected` lists are hashed on the way.
 */
export function walkRoot(
  paths: RootPaths,
  expected: Expected = () => undefined,
): { findings: Finding[]; tree: RootTree } {
  const rootInfo = Deno.statSync(paths.root);
  const w: Walk = { uid: rootInfo.uid ?? 0, findings: [] };
  const tree: RootTree = { uid: w.uid, apps: new Map() };
  const rootBits = unsafeBits(rootInfo.mode ?? 0);
  if (rootBits.length > 0) {
    w.findings.push(finding("unsafe-mode", paths.root, `${rootBits.join(", ")} root`, false));
  }
  within(DirScan.openRoot(paths.root), (root) => {
    for (const e of root.entries()) {
      checkEntry(w, e);
      if (e.name === "pkg") {
        if (expect(w, e, "dir", false)) within(root.sub(e), (pkg) => walkPkg(w, pkg));
      } else if (e.name === "apps") {
        if (!expect(w, e, "dir", false)) continue;
        within(root.sub(e), (apps) => {
          for (const a of apps.entries()) {
            checkEntry(w, a, a.name);
            if (a.info.type === "symlink") {
              link(w, a, false, "where the layout has an app directory");
            } else if (expect(w, a, "dir", false)) {
              within(
                apps.sub(a),
                (app) => tree.apps.set(a.name, walkApp(w, app, a.name, expected)),
              );
            }
          }
        });
      } else strayWithContent(w, root, e, "the root");
    }
  });
  return { findings: w.findings, tree };
}
