/**
 * The app an interrupted or in-flight transaction's journal names, if one can be read (a journal
 * that cannot be read names none: doctor reports it). The journal's reader (core/apply) loads
 * only when there is a journal, so a reader of a quiet root never loads it.
 */
import { exists, type RootPaths } from "../store/mod.ts";

export async function pendingApp(paths: RootPaths): Promise<string | undefined> {
  if (!(await exists(paths.journal))) return undefined;
  const { readJournal } = await import("../apply/mod.ts");
  return (await readJournal(paths.journal).catch(() => undefined))?.plan.appId;
}
