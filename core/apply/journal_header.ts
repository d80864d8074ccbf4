/**
 * The journal's header values, size limit and `journal.corrupt` error: what the writer
 * (core/apply/journal.ts) and the parser (journal_format.ts) share, without the parser's schemas.
 */
import { NxError } from "../errors.ts";
import type { Plan } from "../plan/mod.ts";

export const JOURNAL_FORMAT = "nx-journal";
export const JOURNAL_VERSION = 1;
/**
 * The largest journal read. A plan holds at most two records (before, after) of at most
 * 1 + 16 retained versions (`retain_versions` ≤ 16), each a file list bounded by the signed
 * index (≤ 1 MiB) and a manifest view (≤ 64 KiB of Cap'n Proto, under 512 KiB as JSON): 34 ×
 * 1.5 MiB ≈ 51 MiB. Anything larger was not written by nx.
 */
export const JOURNAL_MAX_BYTES = 64 * 1024 * 1024;

const CORRUPT_HINT = "`nx pkg doctor --repair` moves the journal aside so the root can be checked";

export function corruptJournal(path: string, why: string, details?: Record<string, unknown>) {
  return new NxError("journal.corrupt", `cannot read journal ${path}: ${why}`, {
    hint: CORRUPT_HINT,
    ...(details ? { details } : {}),
  });
}

export interface JournalState {
  plan: Plan;
  /** Indices of steps whose `begin` is durable. */
  begun: number[];
  done: number[];
  committed: boolean;
  postDone: number[];
}
