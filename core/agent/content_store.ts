/**
 * The agent's content store: which files of an offer this machine holds already, by SHA-256, and
 * their copy into the offer's fresh upload directory, so that the host sends only the rest (an
 * upgrade that changes one file sends about that file).
 *
 * Where files are looked up:
 * - every retained version of every installed app, `apps/<id>/versions/<v>/`: the registry lists
 *   each version's files with size and SHA-256 (`VersionRecord.files`: what install verified
 *   against the bundle's signed index, what repair and doctor hold the tree to);
 * - recent uploads ({@link RecentUploads}).
 *
 * No source is trusted: each file is read without following a link, re-hashed and counted as
 * missing unless it is the regular file of exactly the size and digest expected (changed, gone,
 * swapped for a link). A copy is only a shortcut: the call that uses the upload verifies every
 * byte against the agent's own policy, as for a local bundle. A registry that cannot be read
 * offers nothing (the call reports the registry's problem itself).
 *
 * Memory: a source file is read whole (at most 16 MiB, the bundle caps) and written in 1 MiB
 * slices; fills run one at a time per agent, so copies hold one file in memory at a time.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { CAPS } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";
import { openRegistry, registryUrlForFile } from "../registry/mod.ts";
import {
  appPaths,
  DirCache,
  type ExpectedFile,
  type FileHandle,
  ioError,
  mkdirp,
  openDirAt,
  READ_CHUNK,
  readFileOr,
  removeTree,
  rename,
  type RootPaths,
  splitPath,
  unsafeEntry,
  writeAll,
  type WrittenFile,
} from "../store/mod.ts";

/** An upload's file while it is written. */
export type UploadFile = FileHandle;

/** What an upload wrote, by offer path: what the install that is lent it need not hash again. */
export type Written = Map<string, WrittenFile>;

/** Directories of an upload, and the files it holds. */
export const DIR_MODE = 0o700;
/** Upload files are read-only, as a staged bundle copy is. */
export const FILE_MODE = 0o444;

/** A file on this machine that should hold some content: `path` below `dir`, of `size` bytes. */
interface Source {
  dir: string;
  path: string;
  size: number;
}

type Sources = Map<string, Source[]>;

function add(sources: Sources, dir: string, files: readonly ExpectedFile[]): void {
  for (const f of files) {
    const list = sources.get(f.sha256);
    const source = { dir, path: f.path, size: f.size };
    if (list) list.push(source);
    else sources.set(f.sha256, [source]);
  }
}

/**
 * An upload directory open while it is filled. Files are created below descriptors of their
 * directories (each opened once, without following a link, made private to the agent when
 * missing), never over an existing name: one `openat` per file, instead of a walk from the
 * root's anchor for every file of a bundle of hundreds. Not synced: uploads are scratch that a
 * call verifies and stages durably itself.
 */
export class UploadTree {
  readonly #dirs: DirCache;

  constructor(readonly dir: string, private readonly written: Written = new Map()) {
    try {
      this.#dirs = new DirCache(openDirAt(dir), DIR_MODE);
    } catch (e) {
      throw ioError("open", dir, e);
    }
  }

  /** Creates `rel` (a checked offer path) as a new file, read-only, open for writing. */
  create(rel: string): UploadFile {
    const at = splitPath(rel);
    try {
      const parent = this.#dirs.get(at.dir, (d) => unsafeEntry(join(this.dir, d)));
      return parent.openFile(at.name, { write: true, create: FILE_MODE, exclusive: true });
    } catch (e) {
      throw ioError("create", join(this.dir, rel), e);
    }
  }

  /** Writes all of `bytes` to a file of this tree (the fault hook sits in writeAll). */
  write(file: UploadFile, bytes: Uint8Array): void {
    try {
      writeAll(file, bytes);
    } catch (e) {
      throw ioError("write", file.path, e);
    }
  }

  /** Closes `file` (at `rel`), all its bytes written, noting the SHA-256 they were hashed to. */
  done(file: UploadFile, rel: string, sha256: string): void {
    try {
      this.written.set(rel, { sha256, stat: file.stat() });
    } catch (e) {
      throw ioError("stat", file.path, e);
    } finally {
      file.close();
    }
  }

  /** Removes the file `rel` (a copy that failed half-way); gone already is fine. */
  remove(rel: string): void {
    const at = splitPath(rel);
    try {
      this.#dirs.get(at.dir, (d) => unsafeEntry(join(this.dir, d))).unlink(at.name);
    } catch {
      // never created, or its directory is gone: the upload is removed as a whole anyway
    }
  }

  close(): void {
    this.#dirs.close();
  }
}

/** How many recent uploads the store keeps, and their bytes together (one bundle's cap). */
export const RECENT_LIMITS = { uploads: 2, bytes: CAPS.total } as const;

interface Recent {
  dir: string;
  files: readonly ExpectedFile[];
  bytes: number;
}

/**
 * Uploads kept after the call that used them, as a source of content: `verify` then `install`
 * of the same bundle, or an install refused until a publisher was trusted, sends its bytes once.
 * Policy: a used upload directory is moved to `recent/` beside it (it can never be named by a
 * call again); at most {@link RECENT_LIMITS} `uploads` are kept, of at most `bytes` together,
 * the oldest removed first; all of them go when the agent stops, and the agent removes what a
 * crashed one left when it starts (uploads.ts).
 */
export class RecentUploads {
  #kept: Recent[] = [];

  constructor(private readonly limits: { uploads: number; bytes: number } = RECENT_LIMITS) {}

  addTo(sources: Sources): void {
    for (const r of this.#kept) add(sources, r.dir, r.files);
  }

  /** Moves a used upload's directory to `recent/` and keeps it, evicting the oldest. */
  async keep(dir: string, files: readonly ExpectedFile[]): Promise<void> {
    const bytes = files.reduce((n, f) => n + f.size, 0);
    const recent = join(dirname(dir), "recent");
    const to = join(recent, basename(dir));
    if (bytes > this.limits.bytes || this.limits.uploads === 0) return await removeTree(dir);
    await mkdirp(recent, DIR_MODE);
    await rename(dir, to);
    this.#kept.push({ dir: to, files, bytes });
    let total = this.#kept.reduce((n, r) => n + r.bytes, 0);
    while (this.#kept.length > this.limits.uploads || total > this.limits.bytes) {
      const oldest = this.#kept.shift()!;
      total -= oldest.bytes;
      await removeTree(oldest.dir);
    }
  }

  /** The directories kept (oldest first). */
  dirs(): string[] {
    return this.#kept.map((r) => r.dir);
  }

  async clear(): Promise<void> {
    const kept = this.#kept;
    this.#kept = [];
    for (const r of kept) await removeTree(r.dir);
  }
}

export interface ContentStoreOptions {
  paths: RootPaths;
  /** The registry the agent's Pkgr uses (default: the root's own). */
  registryUrl?: string;
  recent?: RecentUploads;
}

export class ContentStore {
  readonly recent: RecentUploads;
  /** Fills run one after another (see the module comment). */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ContentStoreOptions) {
    this.recent = options.recent ?? new RecentUploads();
  }

  /**
   * Copies every file of `offer` this machine holds into `uploadDir` (each re-hashed as read,
   * noted in `written`) and returns the indices of the others, ascending: what the host must send.
   */
  fill(offer: readonly ExpectedFile[], uploadDir: string, written?: Written): Promise<number[]> {
    const run = this.#turn.then(() => this.#fill(offer, uploadDir, written));
    this.#turn = run.catch(() => {});
    return run;
  }

  async #fill(offer: readonly ExpectedFile[], uploadDir: string, written?: Written) {
    const sources = offer.length === 0 ? new Map() : await this.#sources();
    if (sources.size === 0) return offer.map((_, i) => i);
    const tree = new UploadTree(uploadDir, written);
    try {
      return await this.#copy(offer, sources, tree);
    } finally {
      tree.close();
    }
  }

  async #copy(offer: readonly ExpectedFile[], sources: Sources, tree: UploadTree) {
    const missing: number[] = [];
    for (const [i, want] of offer.entries()) {
      const found = sources.get(want.sha256) ?? [];
      // The same path first: an upgrade keeps most of its names.
      const ordered = [
        ...found.filter((s: Source) => s.path === want.path),
        ...found.filter((s: Source) => s.path !== want.path),
      ].filter((s) => s.size === want.size);
      let copied = false;
      for (const source of ordered) {
        if (await copyIfSame(source, want, tree)) {
          copied = true;
          break;
        }
      }
      if (!copied) missing.push(i);
    }
    return missing;
  }

  async #sources(): Promise<Sources> {
    const sources: Sources = new Map();
    const { paths, registryUrl } = this.options;
    try {
      const registry = await openRegistry(registryUrl ?? registryUrlForFile(paths.registryDb), {
        readOnly: true,
      });
      try {
        for (const app of await registry.list()) {
          const versions = appPaths(paths, app.id);
          for (const v of app.versions) add(sources, versions.version(v.version), v.files);
        }
      } finally {
        registry.close();
      }
    } catch (e) {
      if (!(e instanceof NxError)) throw e;
    }
    this.recent.addTo(sources);
    return sources;
  }
}

/**
 * Copies `source` to `want.path` below `uploadDir` when it holds exactly the content wanted;
 * false (and nothing left behind) when it does not or cannot be read. A full disk is not a
 * miss: it fails the offer.
 */
async function copyIfSame(source: Source, want: ExpectedFile, tree: UploadTree): Promise<boolean> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFileOr(join(source.dir, source.path), undefined, want.size);
  } catch (e) {
    if (e instanceof NxError && e.code !== "io.no_space") return false;
    throw e;
  }
  if (bytes === undefined || bytes.length !== want.size) return false;
  if (createHash("sha256").update(bytes).digest("hex") !== want.sha256) return false;
  const file = tree.create(want.path);
  try {
    for (let at = 0; at < bytes.length; at += READ_CHUNK) {
      tree.write(file, bytes.subarray(at, at + READ_CHUNK));
    }
  } catch (e) {
    file.close();
    tree.remove(want.path);
    throw e;
  }
  tree.done(file, want.path, want.sha256);
  return true;
}
