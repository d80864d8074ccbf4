/**
 * The transaction journal, `pkg/journal`: JSON lines, each appended and fsynced before the
 * step it announces runs. Line 1 holds the whole plan; then `{"begin":i}`, `{"done":i}`,
 * `{"committed":true}`, `{"post":i}`. A torn last line (crash mid-append) is ignored: it was never
 * acknowledged, so the step it announced never started.
 */
import { z } from "zod";
import { NxError } from "../errors.ts";
import type { Plan } from "../plan/mod.ts";
import { fsyncDir, ioError, readFileOr, removeTree, writeAllSync } from "../store/mod.ts";
import { dirname } from "node:path";

const CORRUPT_HINT = "`nx pkg doctor --repair` moves the journal aside so the root can be checked";

function corrupt(path: string, why: string): NxError {
  return new NxError("journal.corrupt", `cannot read journal ${path}: ${why}`, {
    hint: CORRUPT_HINT,
  });
}

export const JOURNAL_FORMAT = "nx-journal";
export const JOURNAL_VERSION = 1;

const HeaderSchema = z.object({
  format: z.literal(JOURNAL_FORMAT),
  version: z.number().int(),
  plan: z.custom<Plan>((v) => typeof v === "object" && v !== null && "steps" in v && "txid" in v),
});

export interface JournalState {
  plan: Plan;
  /** Indices of steps whose `begin` is durable. */
  begun: number[];
  done: number[];
  committed: boolean;
  postDone: number[];
}

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

export async function readJournal(path: string): Promise<JournalState | undefined> {
  const bytes = await readFileOr(path, undefined);
  if (bytes === undefined) return undefined;
  const lines = new TextDecoder().decode(bytes).split("\n");
  const complete = lines.slice(0, -1); // the part after the last newline is empty or torn
  const parsed = complete.map((line) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  const header = HeaderSchema.safeParse(parsed[0]);
  if (!header.success) {
    if (complete.length === 0) return undefined; // crash while writing the header: nothing began
    throw corrupt(path, "bad header");
  }
  if (header.data.version !== JOURNAL_VERSION) {
    throw corrupt(path, `version ${header.data.version}`);
  }
  const state: JournalState = {
    plan: header.data.plan,
    begun: [],
    done: [],
    committed: false,
    postDone: [],
  };
  for (const entry of parsed.slice(1)) {
    if (entry === undefined) throw corrupt(path, "bad entry");
    if (typeof entry.begin === "number") state.begun.push(entry.begin);
    if (typeof entry.done === "number") state.done.push(entry.done);
    if (entry.committed === true) state.committed = true;
    if (typeof entry.post === "number") state.postDone.push(entry.post);
  }
  return state;
}
