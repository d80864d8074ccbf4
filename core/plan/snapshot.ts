/** What planning reads: the loaded state of the root, gathered by the service before planning. */
import type { Policy } from "../trust/mod.ts";
import type { AppRecord, KeptDataRecord } from "../api/mod.ts";
import type { Dependency } from "../bundle/mod.ts";

export interface InstalledApp {
  version: string;
  state: string;
  dependencies: Dependency[];
}

export interface Snapshot {
  policy: Policy;
  /** The app's registry record, when installed. */
  installed?: AppRecord;
  /** Every installed app's id → active version, state and dependencies (dependency checks). */
  apps: ReadonlyMap<string, InstalledApp>;
  /** apps/<id> exists on disk (e.g. data kept by `uninstall --keep-data`). */
  appDirExists: boolean;
  /** Versions under apps/<id>/data when the app is not installed (kept data). */
  keptData: string[];
  /**
   * Whose that kept data is (the registry's record from when the app was unregistered);
   * undefined when no data is kept, or when it was kept before nx recorded owners.
   */
  keptDataOwner?: KeptDataRecord;
  /** Bytes under apps/<id>/data/<active version> (0 when none). */
  dataBytes: number;
  /** Every apps/<id>/data/<v> on disk (installed or kept) and its bytes, by version; optional
   * for callers that plan no removal (then sizes count as 0). */
  dataSizes?: { version: string; size: number }[];
  /** Free bytes on the root's file system. */
  freeBytes: number;
  /** ISO time of the operation (reference time, fixed once). */
  now: string;
}
