/**
 * A cpio archive in the "newc" format (what the kernel unpacks as an initramfs, and
 * `cpio -o -H newc` writes): per entry a 110-byte ASCII header of 13 hex fields, the NUL-ended
 * name padded to 4 bytes, the data padded to 4 bytes; a `TRAILER!!!` entry ends it. Written in
 * code so that the guest's files need no root to own them (uid 0 for all), device nodes
 * (/dev/console) need no mknod, and the same inputs give the same bytes (mtime 0).
 */
import { concatBytes } from "../bytes/mod.ts";

export type NewcEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Uint8Array; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "char"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(
  ino: number,
  mode: number,
  size: number,
  nameSize: number,
  rdev: [number, number] = [0, 0],
): string {
  const nlink = (mode & 0o170000) === S_IFDIR ? 2 : 1;
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], nameSize, 0];
  return "070701" + fields.map(hex8).join("");
}

/** The archive of `entries`, in the order given (a directory before what it holds). */
export function newcArchive(entries: NewcEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let length = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    length += bytes.length;
    const pad = pad4(length);
    if (pad > 0) {
      parts.push(new Uint8Array(pad));
      length += pad;
    }
  };
  const add = (
    ino: number,
    path: string,
    mode: number,
    data: Uint8Array,
    rdev?: [number, number],
  ) => {
    const name = `${path.replace(/^\/+/, "")}\0`;
    // The header and the name are padded as one: the data starts 4-aligned.
    push(encoder.encode(header(ino, mode, data.length, encoder.encode(name).length, rdev) + name));
    if (data.length > 0) push(data);
  };
  entries.forEach((e, i) => {
    const ino = i + 1;
    switch (e.kind) {
      case "dir":
        return add(ino, e.path, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(0));
      case "file":
        return add(ino, e.path, S_IFREG | (e.mode ?? 0o644), e.data);
      case "symlink":
        return add(ino, e.path, S_IFLNK | 0o777, encoder.encode(e.target));
      case "char":
        return add(ino, e.path, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(0), [e.major, e.minor]);
    }
  });
  add(0, "TRAILER!!!", 0, new Uint8Array(0));
  return concatBytes(parts);
}
