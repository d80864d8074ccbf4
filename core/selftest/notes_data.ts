/**
 * The data half of the notes checks. The fixture migration notes 1.0.0 → 1.1.0
 * (fixtures/src/notes-1.1.0/migrations) gives every note a title (its first line) and writes
 * `schema.json` = `{"version":2}`. On a local root the selftest writes a note into 1.0.0's data
 * and reads what the migration made of it; on a remote root, whose files it cannot reach, it
 * checks the data size `info` reports: the migration of no notes writes exactly `[]` and
 * `{"version":2}`.
 */
import { join } from "node:path";
import type { AppInfo } from "../api/mod.ts";
import { checkFailed, type Probe } from "./probe.ts";

const NOTE_TEXT = "selftest\nwritten by nx selftest before the upgrade";
const NOTES_V1 = JSON.stringify([{ text: NOTE_TEXT }]);
const SCHEMA_V2 = JSON.stringify({ version: 2 });
/** What the migration writes for no notes: `[]` and `{"version":2}`. */
const MIGRATED_EMPTY_BYTES = "[]".length + SCHEMA_V2.length;

async function readData(info: AppInfo, name: string): Promise<string> {
  try {
    return await Deno.readTextFile(join(info.dataPath, name));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw checkFailed(`${name} in the data of ${info.id} ${info.version}`, "a file", "none");
    }
    throw e;
  }
}

export class NotesData {
  /** `local`: the root's files are on this machine (info.dataPath can be read and written). */
  constructor(readonly probe: Probe, readonly local: boolean) {}

  /** Right after the install of 1.0.0: empty data; a local run writes the note to migrate. */
  async installed(info: AppInfo): Promise<void> {
    this.probe.expectDataSize(info, 0);
    if (this.local) await Deno.writeTextFile(join(info.dataPath, "notes.json"), NOTES_V1);
  }

  /** After the upgrade to 1.1.0: the migration ran on 1.1.0's copy of the data. */
  async migrated(info: AppInfo): Promise<void> {
    if (!this.local) return this.probe.expectDataSize(info, MIGRATED_EMPTY_BYTES);
    const notes = await readData(info, "notes.json");
    const expected = JSON.stringify([{ title: "selftest", text: NOTE_TEXT }]);
    if (notes !== expected) throw checkFailed("the migrated notes of notes 1.1.0", expected, notes);
    const schema = await readData(info, "schema.json");
    if (schema !== SCHEMA_V2) throw checkFailed("schema.json of notes 1.1.0", SCHEMA_V2, schema);
  }

  /** After the rollback to 1.0.0: 1.0.0's own data, as it was before the migration. */
  async rolledBack(info: AppInfo): Promise<void> {
    if (!this.local) return this.probe.expectDataSize(info, 0);
    const notes = await readData(info, "notes.json");
    if (notes !== NOTES_V1) throw checkFailed("the notes of notes 1.0.0", NOTES_V1, notes);
    this.probe.expectDataSize(info, NOTES_V1.length);
  }
}
