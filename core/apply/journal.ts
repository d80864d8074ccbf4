/**
 * The transaction journal, `pkg/journal`: JSON lines, appended in order. Line 1 holds the whole
 * plan; then `{"begin":i}`, `{"done":i}`, `{"committed":true}`, `{"post":i}`. Reading it back
 * validates all of it (journal_format.ts).
 *
 * What must be durable before the next effect is synced: the plan (with the journal's directory
 * entry), each `begin` before its step runs, and `committed`. A `done` or `post` line is written
 * without a sync of its own: the next synced line carries it (same file, written in order), and
 * losing it in a crash only means recovery treats the step as begun (its undo is idempotent) or
 * runs the post-commit step again (idempotent too) — the state recovery reaches is the same.
 */
import type { Plan } from "../plan/mod.ts";
import { AppendOnlyFile, fsyncDir, ioError, readFileOr, removeTree } from "../store/mod.ts";
import { dirname } from "node:path";
import {
  corruptJournal,
  JOURNAL_FORMAT,
  JOURNAL_MAX_BYTES,
  JOURNAL_VERSION,
  type JournalState,
} from "./journal_header.ts";

export { JOURNAL_FORMAT, JOURNAL_MAX_BYTES, JOURNAL_VERSION, type JournalState };

/** Lines whose loss in a crash changes nothing recovery does (see above): not synced alone. */
const carriedByNextSync = (entry: Record<string, unknown>) => "done" in entry || "post" in entry;

const line = (entry: Record<string, unknown>) =>
  new TextEncoder().encode(JSON.stringify(entry) + "\n");

export class Journal {
  private constructor(private readonly path: string, private readonly file: AppendOnlyFile) {}

  /** Creates the journal with the plan, durably (file and directory fsynced). */
  // deno-lint-ignore require-await -- async for callers; the writes are direct calls on purpose
  static async create(path: string, plan: Plan): Promise<Journal> {
    try {
      const header = { format: JOURNAL_FORMAT, version: JOURNAL_VERSION, plan };
      return new Journal(path, AppendOnlyFile.create(path, line(header)));
    } catch (e) {
      throw ioError("create journal", path, e);
    }
  }

  // deno-lint-ignore require-await -- async for callers; the writes are direct calls on purpose
  async append(entry: Record<string, unknown>): Promise<void> {
    try {
      this.file.append(line(entry), !carriedByNextSync(entry));
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
  const { parseJournal } = await import("./journal_format.ts");
  return parseJournal(bytes, path);
}
