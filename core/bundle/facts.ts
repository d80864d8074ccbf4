/**
 * What the store learns by reading a bundle directory once: every entry (never following links),
 * and for each regular file its size, SHA-256, first bytes, and — for small meta files — all
 * bytes. Pure verification decides everything from these facts.
 */

export type EntryType = "file" | "dir" | "symlink" | "other";

export interface EntryFact {
  /** Bundle-relative POSIX path. */
  path: string;
  type: EntryType;
  size: number;
  nlink: number;
}

export interface FileFact {
  path: string;
  size: number;
  sha256: string;
  /** The first bytes (at most 16), for magic-number checks. */
  head: Uint8Array;
  /** All bytes, for files verification parses (manifest.nxb and meta/). */
  bytes?: Uint8Array;
}

export interface BundleFacts {
  /** What the bundle path itself is (after following a link given on the command line). */
  rootType: "dir" | "missing" | "file" | "other";
  /** All entries below the root, sorted by path. */
  entries: EntryFact[];
  /** The walk stopped at the file-count or depth cap. */
  walkLimitHit: boolean;
  /** Regular files that were read (safe path, one link, within their cap). */
  files: Record<string, FileFact>;
  /** SHA-512(R ‖ A ‖ payload) when verification asked for it (see trust/challenge.ts). */
  challenge?: { path: string; prefixHex: string; sha512: Uint8Array };
}

/** What verification asks the reader to stream into a SHA-512 along with the SHA-256. */
export interface ChallengeRequest {
  path: string;
  prefix: Uint8Array;
}
