/**
 * nx's signed file index (`meta/index.json`) and its detached signature (`meta/index.sig`).
 * The index lists every file of the bundle except these two, so a signature over its exact bytes
 * covers every byte of the bundle and the set of file names.
 */
import * as z from "zod/mini";
import { hexString } from "../schema/mod.ts";
import { CAPS } from "./layout.ts";

export const INDEX_FORMAT = "nx-file-index";
export const INDEX_SIG_FORMAT = "nx-index-sig";
/** Domain separation: the signed message is this prefix followed by the index bytes. */
export const INDEX_SIGNING_DOMAIN = "nx.bundle.index.v1\n";

export const IndexEntrySchema = z.strictObject({
  path: z.string().check(z.minLength(1)),
  size: z.int().check(z.nonnegative()),
  sha256: hexString(32),
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export const FileIndexSchema = z.strictObject({
  format: z.literal(INDEX_FORMAT),
  version: z.int(),
  files: z.array(IndexEntrySchema).check(z.maxLength(CAPS.files)),
});
export type FileIndex = z.infer<typeof FileIndexSchema>;

export const IndexSigSchema = z.strictObject({
  format: z.literal(INDEX_SIG_FORMAT),
  version: z.int(),
  alg: z.string().check(z.minLength(1), z.maxLength(32)),
  publisher: hexString(16),
  key: hexString(32),
  signature: hexString(64),
});
export type IndexSig = z.infer<typeof IndexSigSchema>;

/** The one serialisation of an index: files sorted by path, fixed key order, one trailing LF. */
export function encodeIndex(files: readonly IndexEntry[]): Uint8Array {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const index: FileIndex = {
    format: INDEX_FORMAT,
    version: 1,
    files: sorted.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
  };
  return new TextEncoder().encode(JSON.stringify(index, null, 1) + "\n");
}

export function encodeIndexSig(sig: Omit<IndexSig, "format" | "version">): Uint8Array {
  const full: IndexSig = { format: INDEX_SIG_FORMAT, version: 1, ...sig };
  return new TextEncoder().encode(JSON.stringify(full, null, 1) + "\n");
}

export function indexSigningMessage(indexBytes: Uint8Array): Uint8Array {
  const domain = new TextEncoder().encode(INDEX_SIGNING_DOMAIN);
  const message = new Uint8Array(domain.length + indexBytes.length);
  message.set(domain);
  message.set(indexBytes, domain.length);
  return message;
}
