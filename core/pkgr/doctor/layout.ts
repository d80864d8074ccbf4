/**
 * The state root's layout as doctor checks it (docs/transactions.md#the-state-root): which names
 * each directory may hold, of which type, and which links `--repair` may remove. No I/O.
 */
import type { FindingKind } from "./types.ts";

export type EntryKind = "file" | "dir" | "symlink" | "fifo" | "socket" | "char" | "block";

export const SPECIAL_KINDS: ReadonlySet<EntryKind> = new Set(["fifo", "socket", "char", "block"]);

/** A defined entry of `pkg/`: its type, and whether a link standing there may be removed. */
interface PkgEntry {
  type: "file" | "dir";
  /**
   * Whether `--repair` removes a link standing here: only where nx keeps scratch or derived
   * state that it recreates by itself (the lock, staging, the icon cache, the stamp, root.json).
   * A link at the policy, the publishers, the registry or the journal stands for state nx cannot
   * recreate; it is reported and left for a person to put back.
   */
  removableLink: boolean;
}

export const PKG_ENTRIES: Readonly<Record<string, PkgEntry>> = {
  "root.json": { type: "file", removableLink: true },
  "policy.toml": { type: "file", removableLink: false },
  "publishers.toml": { type: "file", removableLink: false },
  // The licensing trust and the device identity (core/licensed): nx cannot recreate either.
  "store_keys.toml": { type: "file", removableLink: false },
  "device.key": { type: "file", removableLink: false },
  "registry.db": { type: "file", removableLink: false },
  "registry.db-wal": { type: "file", removableLink: false },
  "registry.db-shm": { type: "file", removableLink: false },
  "registry.db-journal": { type: "file", removableLink: false },
  "lock": { type: "file", removableLink: true },
  "journal": { type: "file", removableLink: false },
  "registry.stamp": { type: "file", removableLink: true },
  "staging": { type: "dir", removableLink: true },
  "cache": { type: "dir", removableLink: true },
  // An agent's uploads (core/agent): scratch, removed when the agent starts.
  "uploads": { type: "dir", removableLink: true },
};

/** Files of `pkg/` written atomically through a temp name (`.<name>.<pid>.<n>.tmp`). */
const PKG_ATOMIC = new Set([
  "root.json",
  "policy.toml",
  "publishers.toml",
  "store_keys.toml",
  "device.key",
  "registry.stamp",
]);

/** `pkg/journal.corrupt.<ms>`: a journal moved aside by `doctor --repair`. */
export function isQuarantinedJournal(name: string): boolean {
  return /^journal\.corrupt\.[0-9]+$/.test(name);
}

/** The temp name of an atomic write of one of `names` (a writer killed before its rename). */
export function tempOf(name: string, names: (n: string) => boolean): boolean {
  const m = /^\.(.+)\.[0-9]+\.[0-9]+\.tmp$/.exec(name);
  return m !== null && names(m[1]);
}

export const isPkgTemp = (name: string) => tempOf(name, (n) => PKG_ATOMIC.has(n));

/** `pkg/cache/icons/<id>/icon<ext>`: the launcher's copy of the active version's icon. */
export const isIconName = (name: string) => /^icon(\.[A-Za-z0-9_-]{1,16})?$/.test(name);
export const isIconTemp = (name: string) => tempOf(name, isIconName);

/** `apps/<id>/current.<tag>.tmp`: the temp link of a `current` switch killed before its rename. */
export const isCurrentTemp = (name: string) => /^current\.[A-Za-z0-9_-]+\.tmp$/.test(name);

/**
 * The version a well-formed `current` target names: exactly `versions/<v>`, relative, one
 * segment, no `.`/`..`. Anything else (absolute, `../`, deeper, empty) is undefined.
 */
export function currentVersionOf(target: string): string | undefined {
  const m = /^versions\/([^/]+)$/.exec(target);
  if (!m || m[1] === "." || m[1] === "..") return undefined;
  return m[1];
}

/** Set-id and world-writable bits of a file or directory, named (empty when none). */
export function unsafeBits(perm: number): string[] {
  const bits: string[] = [];
  if (perm & 0o4000) bits.push("setuid");
  if (perm & 0o2000) bits.push("setgid");
  if (perm & 0o002) bits.push("world-writable");
  return bits;
}

/** The finding for an entry of the wrong type where the layout defines another. */
export function wrongType(kind: EntryKind): FindingKind {
  if (kind === "symlink") return "unsafe-link";
  if (SPECIAL_KINDS.has(kind)) return "special-file";
  return "stray-entry";
}
