/**
 * The transaction journal, `pkg/journal`: JSON lines, each appended and fsynced before the
 * step it announces runs. Line 1 holds the whole plan; then `{"begin":i}`, `{"done":i}`,
 * `{"committed":true}`, `{"post":i}`. Reading it back validates all of it (journal_format.ts).
 */
import type { Plan } from "../plan/mod.ts";
import { fsyncDir, ioError, readFileOr, removeTree, writeAllSync } from "../store/mod.ts";
import { dirname } from "node:path";
import {
  corruptJournal,
  JOURNAL_FORMAT,
  JOURNAL_MAX_BYTES,
  JOURNAL_VERSION,
  type JournalState,
  parseJournal,
} from "./journal_format.ts";

export { JOURNAL_FORMAT, JOURNAL_MAX_BYTES, JOURNAL_VERSION, type JournalState };

export class Journal {
  private constructor(private readonly path: string, private readonly file: Deno.FsFile) {}

  /** Creates the journal with the plan, durably (file and directory fsynced). */
  static async create(path: string, plan: Plan): Promise<Journal> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
    } catch (e) {
      throw ioError("create journal", path, e);
    }
    const journal = new Journal(path, file);
    await journal.append({ format: JOURNAL_FORMAT, version: JOURNAL_VERSION, plan });
    await fsyncDir(dirname(path));
    return journal;
  }

  async append(entry: Record<string, unknown>): Promise<void> {
    try {
      await writeAllSync(
        this.file,
        new TextEncoder().encode(JSON.stringify(entry) + "\n"),
        this.path,
      );
    } catch (e) {
      throw ioError("write journal", this.path, e);
    }
  }

  close(): void {
    this.file.close();
  }

  /** Ends the transaction: the journal disappears (durably). */
  async finish(): Promise<void> {
    this.close();
    await removeJournal(this.path);
  }
}

export async function removeJournal(path: string): Promise<void> {
  await removeTree(path);
  await fsyncDir(dirname(path));
}

/**
 * The journal's state (undefined when there is none, or its header line was never completed).
 * Anything nx would not have written is `journal.corrupt`, never followed.
 */
export async function readJournal(path: string): Promise<JournalState | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw ioError("stat", path, e);
  }
  // A directory, link or FIFO was never a journal; an oversized one is refused unread.
  if (!info.isFile) throw corruptJournal(path, "not a regular file");
  if (info.size > JOURNAL_MAX_BYTES) {
    throw corruptJournal(path, `larger than ${JOURNAL_MAX_BYTES} bytes`);
  }
  const bytes = await readFileOr(path, undefined);
  if (bytes === undefined) return undefined;
  return parseJournal(bytes, path);
}
