/**
 * What the lines of `pkg/journal` mean, checked as input: the journal is read back by the next
 * command on the root, so a crafted or damaged one must never steer recovery outside the root or
 * into an internal error. {@link parseJournal} accepts exactly what the executor writes:
 *
 *   header    {"format":"nx-journal","version":1,"plan":<PlanSchema>}   (strict, every field)
 *   entries   ({"begin":i} {"done":i})* {"begin":i}?                    i = 0, 1, 2 … in order
 *             {"committed":true}                                        after every step is done
 *             {"post":j}*                                               j strictly increasing
 *
 * Anything else is `journal.corrupt`. The bytes after the last newline are a torn append (a crash
 * mid-write): never acknowledged, so ignored; a torn line anywhere else is corrupt. No I/O here.
 * Loaded only when a journal is read (core/apply/journal.ts), so a transaction that finds none
 * does not build its schemas.
 */
import * as z from "zod";
import type { Plan } from "../plan/mod.ts";
import { PlanSchema } from "../plan/schema.ts";
import {
  corruptJournal,
  JOURNAL_FORMAT,
  JOURNAL_MAX_BYTES,
  JOURNAL_VERSION,
  type JournalState,
} from "./journal_header.ts";

const VersionedHeaderSchema = z.object({ format: z.literal(JOURNAL_FORMAT), version: z.number() });
const HeaderSchema = z.strictObject({
  format: z.literal(JOURNAL_FORMAT),
  version: z.literal(JOURNAL_VERSION),
  plan: PlanSchema,
});
const index = z.number().int().nonnegative();
const EntrySchema = z.union([
  z.strictObject({ begin: index }),
  z.strictObject({ done: index }),
  z.strictObject({ committed: z.literal(true) }),
  z.strictObject({ post: index }),
]);
type Entry = z.infer<typeof EntrySchema>;

/** The first issue of a failed parse, as `<path>: <message>` (never the value itself). */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const at = issue.path.length > 0 ? issue.path.join(".") : "(root)";
  return `${at}: ${issue.message}`;
}

/** Replays the entries in the order the executor writes them; returns why they cannot be. */
function replay(plan: Plan, entries: Entry[], state: JournalState): string | undefined {
  let open = false; // a step is begun and not yet done
  for (const [n, entry] of entries.entries()) {
    const line = n + 2;
    const next = state.done.length;
    if ("begin" in entry) {
      if (state.committed || open || entry.begin !== next || next >= plan.steps.length) {
        return `line ${line}: begin ${entry.begin} out of order or range`;
      }
      state.begun.push(entry.begin);
      open = true;
    } else if ("done" in entry) {
      if (!open || entry.done !== next) return `line ${line}: done ${entry.done} out of order`;
      state.done.push(entry.done);
      open = false;
    } else if ("committed" in entry) {
      if (state.committed || open || next !== plan.steps.length) {
        return `line ${line}: committed before every step was done`;
      }
      state.committed = true;
    } else {
      const last = state.postDone.at(-1) ?? -1;
      if (!state.committed || entry.post <= last || entry.post >= plan.post.length) {
        return `line ${line}: post ${entry.post} out of order or range`;
      }
      state.postDone.push(entry.post);
    }
  }
  return undefined;
}

/**
 * The journal's state, or undefined when not even the header line was completed (nothing began).
 * Throws `journal.corrupt` for anything the executor would not have written.
 */
export function parseJournal(bytes: Uint8Array, path: string): JournalState | undefined {
  if (bytes.length > JOURNAL_MAX_BYTES) {
    throw corruptJournal(path, `larger than ${JOURNAL_MAX_BYTES} bytes`);
  }
  const end = bytes.lastIndexOf(0x0a); // what follows the last newline is empty or torn
  if (end < 0) return undefined; // crash while writing the header: nothing began
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  } catch {
    throw corruptJournal(path, "not UTF-8");
  }
  const lines = text.split("\n").map((line, n) => {
    try {
      return JSON.parse(line) as unknown;
    } catch {
      throw corruptJournal(path, `line ${n + 1} is not JSON`, { line: n + 1 });
    }
  });
  const versioned = VersionedHeaderSchema.safeParse(lines[0]);
  if (!versioned.success) throw corruptJournal(path, "bad header", { line: 1 });
  if (versioned.data.version !== JOURNAL_VERSION) {
    throw corruptJournal(path, `version ${versioned.data.version}`, { line: 1 });
  }
  const header = HeaderSchema.safeParse(lines[0]);
  if (!header.success) {
    throw corruptJournal(path, `bad plan: ${firstIssue(header.error)}`, { line: 1 });
  }
  const entries: Entry[] = [];
  for (const [n, line] of lines.slice(1).entries()) {
    const entry = EntrySchema.safeParse(line);
    if (!entry.success) throw corruptJournal(path, `line ${n + 2} is no entry`, { line: n + 2 });
    entries.push(entry.data);
  }
  const state: JournalState = {
    plan: header.data.plan,
    begun: [],
    done: [],
    committed: false,
    postDone: [],
  };
  const wrong = replay(state.plan, entries, state);
  if (wrong) throw corruptJournal(path, wrong);
  return state;
}
