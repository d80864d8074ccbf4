/**
 * The upload receiver (docs/protocol.md#uploads): an offer gets a fresh upload directory, the
 * content store copies in what this machine holds, and the DATA frames that follow bring the
 * rest — the needed files' bytes, in `need` order, concatenated — hashed as they are written.
 *
 * Rules:
 * - The offer is held to the rules a local bundle directory is held to, with the same codes
 *   (core/trust checkStructure: `bundle.unsafe_path` for a `../` or odd name, `bundle.too_large`
 *   for a file over its cap or a total over 64 MiB, `bundle.too_many_files` past 4096 entries or
 *   16 levels): a host whose own walk let such a bundle through sees what a local verify says.
 *   A list no directory could hold (a path twice, a path that is a file and a directory) is
 *   `agent.invalid_request`.
 * - A file whose bytes end with another digest, bytes past the offer's end, or an offer still
 *   short of bytes when the host moves on are `agent.upload_mismatch`.
 * - Directories are 0700 and files 0444 (what the bundle reader and a staging copy need: the
 *   agent reads them, nobody else does); the directory is created exclusively, and nothing in it
 *   is ever opened through a link.
 * - Where: `<root>/pkg/uploads/<id>/`. On a root that does not exist yet, in a private temp
 *   directory instead, so that serving a call never creates the root (a local `verify` or
 *   `inspect` creates none either).
 * - Lifetime: an upload is used by one call, then kept as a recent upload (content_store.ts) or
 *   removed; a failed upload, and every upload of a closed connection, is removed at once; what a
 *   crashed agent left is removed when the next one starts. A complete upload is lent to the
 *   install that uses it (core/store stage.ts `lendTree`): the install's verifying read still
 *   checks every file against the agent's own policy, taking the SHA-256 each was hashed to as
 *   it was written here for a file unchanged since (same inode, size, mtime, ctime) — the
 *   signature's SHA-512 still reads the payload — and stages the tree itself —
 *   moved into the transaction and made durable there — instead of writing a second copy; the
 *   transaction then owns it (its content is a source again as an installed version).
 */
import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { CAPS, type EntryFact } from "../bundle/mod.ts";
import { toHex } from "../bytes/mod.ts";
import { NxError } from "../errors.ts";
import {
  type ExpectedFile,
  lendTree,
  listDir,
  mkdirp,
  removeTree,
  rootExists,
  type RootPaths,
  type TreeLoan,
} from "../store/mod.ts";
import { checkStructure } from "../trust/mod.ts";
import {
  type ContentStore,
  DIR_MODE,
  type UploadFile,
  UploadTree,
  type Written,
} from "./content_store.ts";

/** The uploads of a root: `<root>/pkg/uploads`. */
export function uploadsDir(paths: RootPaths): string {
  return join(paths.pkg, "uploads");
}

function invalid(reason: string, details: Record<string, unknown>): NxError {
  return new NxError("agent.invalid_request", `cannot accept the offer: ${reason}`, { details });
}

/** Refuses an offer that no bundle directory could be, as a local read of it would. */
export function checkOffer(files: readonly ExpectedFile[]): void {
  const paths = new Set<string>();
  const dirs = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw invalid(`${f.path} is offered twice`, { path: f.path });
    paths.add(f.path);
    const parts = f.path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  }
  for (const dir of dirs) {
    if (paths.has(dir)) {
      throw invalid(`${dir} is offered as a file and as a directory`, { path: dir });
    }
  }
  // The entries a walk of such a directory would list: its files and their directories.
  const entries: EntryFact[] = [
    ...files.map((f) => ({ path: f.path, type: "file" as const, size: f.size, nlink: 1 })),
    ...[...dirs].map((path) => ({ path, type: "dir" as const, size: 0, nlink: 1 })),
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const tooDeep = files.some((f) => f.path.split("/").length > CAPS.depth);
  checkStructure({
    rootType: "dir",
    entries,
    walkLimitHit: entries.length > CAPS.files || tooDeep,
    files: {},
  }, "the upload");
}

function mismatch(message: string, details: Record<string, unknown>): NxError {
  return new NxError("agent.upload_mismatch", `cannot store the upload: ${message}`, {
    details,
    hint: "the bundle changed while it was sent, or the host is broken: run the command again",
  });
}

/** Where an agent keeps its uploads, and the offers it turns into uploads. */
export class UploadArea {
  #temp: string | undefined;

  constructor(private readonly paths: RootPaths, readonly store: ContentStore) {}

  /** Removes every upload a previous agent left behind (it crashed, or was killed). */
  async removeLeftovers(): Promise<void> {
    const dir = uploadsDir(this.paths);
    for (const name of await listDir(dir)) await removeTree(join(dir, name));
  }

  async #base(): Promise<string> {
    if (await rootExists(this.paths)) {
      const dir = uploadsDir(this.paths);
      await mkdirp(dir, DIR_MODE);
      return dir;
    }
    this.#temp ??= await Deno.makeTempDir({ prefix: "nx-agent-uploads-" });
    return this.#temp;
  }

  /**
   * Checks an offer, makes its upload directory, fills in what the content store holds; the
   * upload then waits for the bytes of `need`.
   */
  async begin(files: readonly ExpectedFile[]): Promise<Upload> {
    checkOffer(files);
    const id = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const dir = join(await this.#base(), id);
    await Deno.mkdir(dir, { mode: DIR_MODE }); // exclusive: an existing name fails
    const upload = new Upload(id, dir, files, this.store);
    try {
      upload.start(await this.store.fill(files, dir, upload.written));
      return upload;
    } catch (e) {
      await upload.discard();
      throw e;
    }
  }

  /** The agent stops: recent uploads and a temp directory go. */
  async close(): Promise<void> {
    await this.store.recent.clear();
    await removeTree(join(uploadsDir(this.paths), "recent"));
    if (this.#temp !== undefined) await removeTree(this.#temp);
    this.#temp = undefined;
  }
}

const EMPTY_SHA256 = createHash("sha256").digest("hex");

/**
 * One offer being received: the needed files' bytes, in order, hashed as written. Receiving is
 * synchronous (direct calls on descriptors of the upload's directories, see UploadTree): a
 * bundle is hundreds of small files, and an awaited call per file costs more than the file.
 */
export class Upload {
  /** Indices into `files` the host must send, ascending. */
  need: readonly number[] = [];
  #next = 0;
  /** Open while bytes are awaited. */
  #tree: UploadTree | undefined;
  #file: UploadFile | undefined;
  #hash: Hash | undefined;
  #written = 0;
  #received = 0;
  #gone = false;
  /** The complete tree, lent to the install that uses it (it then adopts it, not a copy). */
  #loan: TreeLoan | undefined;
  /** Every file of bytes written so far, with the digest they hashed to (see lendTree). */
  readonly written: Written = new Map();

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly files: readonly ExpectedFile[],
    private readonly store: ContentStore,
  ) {}

  /** Bytes the host must send in all. */
  get expected(): number {
    return this.need.reduce((n, i) => n + this.files[i].size, 0);
  }

  /** Every needed byte arrived (and every file matched its digest). */
  get complete(): boolean {
    return this.#next >= this.need.length;
  }

  start(need: readonly number[]): void {
    this.need = need;
    if (need.length > 0) this.#tree = new UploadTree(this.dir, this.written);
    this.#emptyFiles();
  }

  /** Writes the next bytes of the upload; a file that ends with another digest fails it. */
  receive(bytes: Uint8Array): void {
    let at = 0;
    while (at < bytes.length) {
      if (this.complete) {
        throw mismatch("more bytes arrived than the offer announced", {
          expected: this.expected,
          extra: bytes.length - at,
        });
      }
      const want = this.files[this.need[this.#next]];
      if (this.#file === undefined) {
        this.#file = this.#tree!.create(want.path);
        this.#hash = createHash("sha256");
        this.#written = 0;
      }
      const take = Math.min(bytes.length - at, want.size - this.#written);
      const chunk = bytes.subarray(at, at + take);
      this.#hash!.update(chunk);
      this.#tree!.write(this.#file, chunk);
      this.#written += take;
      this.#received += take;
      at += take;
      if (this.#written === want.size) {
        const file = this.#file;
        this.#file = undefined;
        const sha256 = this.#hash!.digest("hex");
        this.#tree!.done(file, want.path, sha256);
        this.#check(want, sha256);
        this.#next++;
        this.#emptyFiles();
      }
    }
  }

  /** The host says the upload is done (it moved on): every byte must be there. */
  finish(): void {
    if (!this.complete) {
      throw mismatch(`${this.#received} of the ${this.expected} announced bytes arrived`, {
        expected: this.expected,
        received: this.#received,
      });
    }
  }

  /** Needed files of no bytes are complete as soon as they are next; the last closes the tree. */
  #emptyFiles(): void {
    while (!this.complete && this.files[this.need[this.#next]].size === 0) {
      const want = this.files[this.need[this.#next]];
      this.#tree!.create(want.path).close();
      this.#check(want, EMPTY_SHA256);
      this.#next++;
    }
    if (this.complete) {
      this.#closeTree();
      // Complete, every file matched: an install may stage this very tree (store/stage.ts).
      this.#loan ??= lendTree(this.dir, this.written);
    }
  }

  #closeTree(): void {
    this.#file?.close();
    this.#file = undefined;
    this.#tree?.close();
    this.#tree = undefined;
  }

  #check(want: ExpectedFile, sha256: string): void {
    if (sha256 !== want.sha256) {
      throw mismatch(`${want.path} does not match its announced SHA-256`, {
        path: want.path,
        expected: want.sha256,
        actual: sha256,
      });
    }
  }

  /** Removes the upload (failed, unused, or its connection closed); idempotent. */
  async discard(): Promise<void> {
    this.#closeTree();
    this.#loan?.revoke();
    if (this.#gone) return;
    this.#gone = true;
    if (this.#loan?.taken) return; // an install's transaction owns the tree now
    await removeTree(this.dir);
  }

  /** Its call is over: kept as a recent upload (content_store.ts), or removed. */
  async retire(): Promise<void> {
    this.#loan?.revoke();
    if (this.#gone || !this.complete || this.#loan?.taken) return await this.discard();
    this.#gone = true;
    try {
      await this.store.recent.keep(this.dir, this.files);
    } catch (e) {
      await removeTree(this.dir);
      throw e;
    }
  }
}
