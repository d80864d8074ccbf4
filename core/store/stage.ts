/**
 * One pass over an installed bundle's bytes: the verifying read (bundle_reader.ts) writes each
 * file into the transaction's staging copy while it hashes it, so what verification judged is,
 * byte for byte, what was staged — the bundle is never read a second time, and a change to it
 * after the read cannot reach the install at all. The staging directory is 0700 (as for every
 * copy), so nothing staged is readable by others before it was verified.
 *
 * Lifecycle (the service holds the stage for one operation, `await using`):
 *   1. `BundleStage.open` creates a temp tree `pkg/.staging-<txid>.<pid>.<n>.tmp` (0700, named
 *      like every temp of this process); the reader fills it (files 0444, directories 0755).
 *   2. verification runs on the facts of that read; the plan is made.
 *   3. the plan's stage-version step calls `copyVerifiedBundle(source, version, files)`, which
 *      adopts the stage when it holds exactly those files (same paths, sizes and digests, all
 *      complete) from that source for that very destination: the tree is renamed to
 *      `staging/<txid>/version` (made 0755 there, below the 0700 `staging/<txid>`), its files
 *      and directories are made durable (one syncfs, see Durable), then both parents are synced
 *      — inside the transaction, before anything is published, as a copy would be.
 *   4. `release` (disposal) removes a stage that was never adopted: a refused plan, a failed
 *      read. An adopted one belongs to the transaction from then on (its undo removes it).
 * Adoption also checks that the bundle still holds the very files that were read (copy.ts
 * `checkUnchanged`: inode, size, mtime, ctime) and refuses a changed one with
 * `integrity.changed_after_verify`, as a second read would. That check only reports: a change
 * within the clock tick of the read may go unseen, and then the verified bytes are installed.
 * A process killed before adoption leaves its temp tree, which the next writer removes when it
 * takes over the dead holder's lock (lock.ts, fs.ts `removeTempsOf`), as it does its temp files.
 *
 * A lent tree (`lendTree`: an agent's upload, a bundle directory the process wrote itself below
 * the root, 0700, files 0444, not yet durable) is staged without a copy: the verifying read
 * still reads and hashes every byte, but writes nothing, and adoption moves the tree itself to
 * `version` — after the same `checkUnchanged` — then opens each file it read (the same inode,
 * never through a link), makes them durable and the directories 0755 and durable exactly as
 * for a copy, before anything is published. Until adoption the tree stays the lender's (a stage
 * released unadopted leaves it); a crash before adoption leaves it where the lender removes its
 * leftovers (an agent's start), one after leaves it to the transaction's undo. A tree on
 * another file system than the root (where rename cannot move it) is staged by a copy.
 */
import { basename, dirname, resolve } from "node:path";
import { atParent, openDirAt } from "./anchored.ts";
import type { StageSink } from "./bundle_reader.ts";
import { DirCache, splitPath } from "./_dir_cache.ts";
import { Durable, fsyncDir, ioError, removeTree, tempName, writeAll } from "./fs.ts";
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

/**
 * A file of a lent tree as its lender wrote it: the SHA-256 of the bytes it wrote, and the file's
 * fstat once they were all written (a later write, chmod or replacement changes it).
 */
export interface WrittenFile {
  sha256: string;
  stat: Stat;
}

/** A tree lent to the stage of one install (see the module comment). */
export interface TreeLoan {
  /** A stage adopted the tree: a transaction owns it now, and it is gone from where it was. */
  readonly taken: boolean;
  /** Ends the loan (idempotent): a stage opened afterwards copies the tree as any bundle. */
  revoke(): void;
}

interface Loan {
  taken: boolean;
  written: ReadonlyMap<string, WrittenFile>;
}

/** Lent trees not yet adopted, by their directory (absolute). */
const lent = new Map<string, Loan>();

/**
 * Lends `dir` to the next install that reads it as its bundle: its stage adopts the tree instead
 * of writing a copy. Only for a tree this process wrote itself and nothing else writes to;
 * `written` (by bundle-relative path) spares the verifying read the SHA-256 of a file still
 * exactly as its lender wrote it (see {@link BundleStage.writtenDigest}).
 */
export function lendTree(
  dir: string,
  written: ReadonlyMap<string, WrittenFile> = new Map(),
): TreeLoan {
  const key = resolve(dir);
  const loan: Loan = { taken: false, written };
  lent.set(key, loan);
  return {
    get taken() {
      return loan.taken;
    },
    revoke() {
      if (lent.get(key) === loan) lent.delete(key);
    },
  };
}

export class BundleStage implements StageSink, AsyncDisposable {
  #durable = new Durable();
  #dirs: DirCache;
  #top: DirHandle;
  #current: FileHandle | undefined;
  #ended: StagedFile[] = [];
  #sources: StagedSource[] = [];
  #state: "open" | "adopted" | "released" = "open";
  /** The loan of a lent tree staged in place (then `temp` is `source`). */
  readonly #loan: Loan | undefined;

  private constructor(
    readonly source: string,
    /** The transaction's staging directory, `staging/<txid>` (made by stage-version). */
    readonly dir: string,
    /** Where the stage goes when adopted, `staging/<txid>/version`. */
    readonly version: string,
    /** Where the reader writes it until then (a lent tree: where it is). */
    readonly temp: string,
    top: DirHandle,
    loan?: Loan,
  ) {
    this.#top = top;
    this.#loan = loan;
    this.#dirs = loan ? new DirCache(top) : new DirCache(top, 0o755);
  }

  /** A stage of the lent tree `source` in place; undefined when it must be copied. */
  static #inPlace(source: string, dir: string, version: string): BundleStage | undefined {
    const loan = lent.get(source);
    if (loan === undefined) return undefined;
    const top = openDirAt(source);
    try {
      // rename(2) moves the tree only within one file system: else it is copied
      const pkg = openDirAt(dirname(dirname(dir)));
      const sameFs = pkg.statSelf().dev === top.statSelf().dev;
      pkg.close();
      if (sameFs) return new BundleStage(source, dir, version, source, top, loan);
    } catch (e) {
      top.close();
      throw e;
    }
    top.close();
    return undefined;
  }

  /**
   * Creates the temp tree for the bundle at `source`, to become `staging.version` (a lent tree
   * is its own stage).
   */
  static open(source: string, staging: { dir: string; version: string }): BundleStage {
    const dir = resolve(staging.dir);
    const version = resolve(staging.version);
    try {
      const inPlace = BundleStage.#inPlace(resolve(source), dir, version);
      if (inPlace) {
        inPlace.#durable.dir(version);
        open.set(version, inPlace);
        return inPlace;
      }
    } catch (e) {
      throw ioError("stage", source, e);
    }
    // pkg/staging/<txid> → pkg/.staging-<txid>.<pid>.<n>.tmp
    const temp = tempName(`${dirname(dirname(dir))}/staging-${basename(dir)}`);
    try {
      const parent = openDirAt(dirname(temp));
      let top: DirHandle;
      try {
        if (!parent.mkdir(basename(temp), 0o700)) throw new Error("it exists already");
        top = parent.openDir(basename(temp));
      } finally {
        parent.close();
      }
      const stage = new BundleStage(resolve(source), dir, version, temp, top);
      stage.#durable.dir(version);
      open.set(version, stage);
      return stage;
    } catch (e) {
      throw ioError("stage", temp, e);
    }
  }

  begin(path: string): void {
    const at = splitPath(path);
    this.#run(path, () => {
      if (at.dir !== "") this.#durable.dir(`${this.version}/${at.dir}`);
      if (this.#loan) return; // the file is its own copy
      const dir = this.#dirs.get(at.dir, (rel) => ioError("stage", rel, "not a directory"));
      this.#current = dir.openFile(at.name, { write: true, create: 0o444, exclusive: true });
    });
  }

  write(chunk: Uint8Array): void {
    this.#run("", () => {
      if (!this.#loan) writeAll(this.#current!, chunk);
    });
  }

  /**
   * trust: the SHA-256 the lender of a tree staged in place computed over the bytes it wrote to
   * `path`, when the file open for reading (`now`, its fstat) is still exactly the one it wrote:
   * same device and inode, size, mtime and ctime (a write, a chmod or a replacement changes one
   * of them; ctime cannot be set back). Reading it again could only find the same bytes.
   */
  writtenDigest(path: string, now: Stat): string | undefined {
    const was = this.#loan?.written.get(path);
    if (was === undefined) return undefined;
    const same = now.type === "file" && now.dev === was.stat.dev && now.ino === was.stat.ino &&
      now.size === was.stat.size && now.mtimeNs === was.stat.mtimeNs &&
      now.ctimeNs === was.stat.ctimeNs;
    return same ? was.sha256 : undefined;
  }

  end(fact: StagedFile, source: Stat): void {
    const file = this.#current;
    this.#current = undefined;
    if (file) this.#run(fact.path, () => this.#durable.fill(file, () => {}));
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
    if (this.#state !== "open") throw ioError("stage", this.temp, "the stage is closed");
    try {
      body();
    } catch (e) {
      throw ioError("stage", path === "" ? this.temp : `${this.temp}/${path}`, e);
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
    const now = openDirAt(this.temp);
    try {
      const a = now.statSelf();
      const b = this.#top.statSelf();
      return a.dev === b.dev && a.ino === b.ino;
    } finally {
      now.close();
    }
  }

  /**
   * Moves the stage to `version` (whose parent stage-version made), then makes the staged files,
   * their directories and both parents durable; the transaction owns the tree from here on.
   */
  async adopt(): Promise<void> {
    this.#state = "adopted";
    open.delete(this.version);
    try {
      atParent(
        this.temp,
        (from, name) => atParent(this.version, (to, toName) => from.rename(name, to, toName)),
      );
      if (this.#loan) {
        this.#loan.taken = true; // the transaction's now: its undo removes it
        lent.delete(this.source);
        this.#keepInPlace();
      }
      this.#top.chmod(0o755); // below the 0700 staging/<txid> now
      this.#durable.finish();
    } catch (e) {
      this.#durable.abandon();
      throw ioError("stage", this.version, e);
    } finally {
      this.#dirs.close();
    }
    await fsyncDir(dirname(this.temp));
    await fsyncDir(this.dir);
  }

  /**
   * A lent tree, moved to `version`: each file read (the very inode read, opened without
   * following a link) is made 0444 and kept to be made durable, its directories 0755, as a
   * copy's are.
   */
  #keepInPlace(): void {
    const opened = (rel: string) =>
      this.#dirs.get(rel, (d) => ioError("stage", `${this.version}/${d}`, "not a directory"));
    const widened = new Set<string>();
    for (const { path, stat } of this.#sources) {
      const at = splitPath(path);
      for (let d = at.dir; d !== "" && !widened.has(d); d = splitPath(d).dir) {
        opened(d).chmod(0o755);
        widened.add(d);
      }
      const file = opened(at.dir).openFile(at.name);
      const now = file.stat();
      if (now.dev !== stat.dev || now.ino !== stat.ino) {
        file.close();
        throw ioError("stage", `${this.version}/${path}`, "it was replaced after it was read");
      }
      this.#durable.fill(file, (f) => f.chmod(0o444)); // read-only, as a copy's files are
    }
  }

  /** Removes the staged tree unless a transaction adopted it (a lent tree stays); idempotent. */
  async release(): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "released";
    open.delete(this.version);
    this.#current?.close();
    this.#current = undefined;
    this.#durable.abandon();
    this.#dirs.close();
    if (!this.#loan) await removeTree(this.temp);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }
}

/** The open stage whose directory is `dir`, if any (copyVerifiedBundle's question). */
export function stageAt(dir: string): BundleStage | undefined {
  return open.get(resolve(dir));
}
