/**
 * One pass over an installed bundle's bytes: the verifying read (bundle_reader.ts) writes each
 * file into the transaction's staging copy while it hashes it, so what verification judged is,
 * byte for byte, what was staged — the bundle is never read a second time, and a change to it
 * after the read cannot reach the install at all. The staging directory is 0700 (as for every
 * copy), so nothing staged is readable by others before it was verified.
 *
 * Lifecycle (the service holds the stage for one operation, `await using`):
 *   1. `BundleStage.open` creates `staging/<txid>/version`; the reader fills it (files 0444).
 *   2. verification runs on the facts of that read; the plan is made.
 *   3. the plan's stage-version step calls `copyVerifiedBundle(source, version, files)`, which
 *      adopts the stage when it holds exactly those files (same paths, sizes and digests, all
 *      complete) from that source in that very directory: the files' fdatasyncs then run
 *      (bounded concurrency, see Durable) and the directories are synced — inside the
 *      transaction, before anything is published, as a copy would be.
 *   4. `release` (disposal) removes a stage that was never adopted: a refused plan, a failed
 *      read. An adopted one belongs to the transaction from then on (its undo removes it).
 * Adoption also checks that the bundle still holds the very files that were read (copy.ts
 * `checkUnchanged`: inode, size, mtime, ctime) and refuses a changed one with
 * `integrity.changed_after_verify`, as a second read would. That check only reports: a change
 * within the clock tick of the read may go unseen, and then the verified bytes are installed.
 * A process killed between 1 and 3 leaves `staging/<txid>/version` without a journal: it holds
 * only copies of bundle files, so `nx pkg doctor --repair` may remove it.
 */
import { resolve } from "node:path";
import { openDirAt } from "./anchored.ts";
import type { StageSink } from "./bundle_reader.ts";
import { DirCache, splitPath } from "./_dir_cache.ts";
import { Durable, ioError, removeIfEmpty, removeTree, writeAll } from "./fs.ts";
import type { DirHandle, FileHandle, Stat } from "./handles.ts";

export interface StagedFile {
  path: string;
  size: number;
  sha256: string;
}

/** A staged file and what its bundle file looked like once read (see `sources`). */
export interface StagedSource {
  path: string;
  stat: Stat;
}

/** Stages not yet adopted or released, by their directory (absolute). */
const open = new Map<string, BundleStage>();

export class BundleStage implements StageSink, AsyncDisposable {
  #durable = new Durable();
  #dirs: DirCache;
  #top: DirHandle;
  #current: FileHandle | undefined;
  #ended: StagedFile[] = [];
  #sources: StagedSource[] = [];
  #state: "open" | "adopted" | "released" = "open";

  private constructor(
    readonly source: string,
    readonly dir: string,
    readonly version: string,
    top: DirHandle,
  ) {
    this.#top = top;
    this.#dirs = new DirCache(top, 0o755);
  }

  /**
   * Creates `staging.version` (which must not exist) below `staging.dir`, made 0700 when
   * missing, for the bundle at `source`.
   */
  static open(source: string, staging: { dir: string; version: string }): BundleStage {
    const version = resolve(staging.version);
    try {
      const parent = openDirAt(staging.dir, 0o700);
      let top: DirHandle;
      try {
        const name = version.slice(version.lastIndexOf("/") + 1);
        if (!parent.mkdir(name, 0o755)) throw new Error("it exists already");
        top = parent.openDir(name);
      } finally {
        parent.close();
      }
      const stage = new BundleStage(resolve(source), resolve(staging.dir), version, top);
      stage.#durable.dir(version);
      open.set(version, stage);
      return stage;
    } catch (e) {
      throw ioError("stage", version, e);
    }
  }

  begin(path: string): void {
    const at = splitPath(path);
    this.#run(path, () => {
      const dir = this.#dirs.get(at.dir, (rel) => ioError("stage", rel, "not a directory"));
      if (at.dir !== "") this.#durable.dir(`${this.version}/${at.dir}`);
      this.#current = dir.openFile(at.name, { write: true, create: 0o444, exclusive: true });
    });
  }

  write(chunk: Uint8Array): void {
    this.#run("", () => writeAll(this.#current!, chunk));
  }

  end(fact: StagedFile, source: Stat): void {
    const file = this.#current!;
    this.#current = undefined;
    this.#run(fact.path, () => this.#durable.fill(file, () => {}));
    this.#ended.push({ path: fact.path, size: fact.size, sha256: fact.sha256 });
    this.#sources.push({ path: fact.path, stat: source });
  }

  /**
   * The bundle files as they were when read: whoever adopts the stage checks the bundle still
   * looks so (copy.ts), to report a bundle changed after verification — what is staged is what
   * was verified either way.
   */
  sources(): readonly StagedSource[] {
    return this.#sources;
  }

  #run(path: string, body: () => void): void {
    if (this.#state !== "open") throw ioError("stage", this.version, "the stage is closed");
    try {
      body();
    } catch (e) {
      throw ioError("stage", path === "" ? this.version : `${this.version}/${path}`, e);
    }
  }

  /** Whether this stage holds exactly `files`, complete, read from `source`, still in place. */
  holds(source: string, files: readonly StagedFile[]): boolean {
    if (this.#state !== "open" || this.#current !== undefined) return false;
    if (resolve(source) !== this.source || files.length !== this.#ended.length) return false;
    const key = (f: StagedFile) => `${f.path}\0${f.size}\0${f.sha256}`;
    const staged = new Set(this.#ended.map(key));
    if (staged.size !== files.length || !files.every((f) => staged.has(key(f)))) return false;
    // trust: the directory at the path is still the one this stage created (not swapped)
    const now = openDirAt(this.version);
    try {
      const a = now.statSelf();
      const b = this.#top.statSelf();
      return a.dev === b.dev && a.ino === b.ino;
    } finally {
      now.close();
    }
  }

  /** Makes the staged files, then their directories, durable; the transaction owns them now. */
  adopt(): void {
    this.#state = "adopted";
    open.delete(this.version);
    try {
      this.#durable.finish();
    } catch (e) {
      this.#durable.abandon();
      throw ioError("stage", this.version, e);
    } finally {
      this.#dirs.close();
    }
  }

  /** Removes the staged tree unless a transaction adopted it; idempotent. */
  async release(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "released";
    open.delete(this.version);
    this.#current?.close();
    this.#current = undefined;
    this.#durable.abandon();
    this.#dirs.close();
    await removeTree(this.version);
    await removeIfEmpty(this.dir);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** The open stage whose directory is `dir`, if any (copyVerifiedBundle's question). */
export function stageAt(dir: string): BundleStage | undefined {
  return open.get(resolve(dir));
}
