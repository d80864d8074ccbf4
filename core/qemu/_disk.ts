/**
 * ext4 disk images made with `mke2fs` — no root and no mount: `-d DIR` fills the file system
 * from a directory. The system disk has no journal (the guest mounts it read-only); the state
 * disk keeps the default journal, which makes a guest's fsynced writes survive a power cut.
 */
import { findTool, runOk } from "./_run.ts";

export interface Ext4Options {
  /** Size in bytes (rounded up to 1 MiB). */
  bytes: number;
  label: string;
  /** Fill it from this directory (`mke2fs -d`). */
  from?: string;
  journal: boolean;
  /** Inodes to reserve (default: mke2fs's ratio). */
  inodes?: number;
}

/** Writes a new ext4 image at `path` (replacing a file there). */
export async function makeExt4(path: string, o: Ext4Options): Promise<void> {
  const mke2fs = await findTool("mke2fs", "make the guest's disk images");
  await Deno.remove(path).catch(() => {});
  const mib = Math.ceil(o.bytes / (1 << 20));
  await runOk(mke2fs, [
    "-q",
    "-F",
    "-t",
    "ext4",
    "-b",
    "4096",
    "-m",
    "0",
    "-L",
    o.label,
    // The guest runs as root: its root directory is root's, whoever made the image.
    "-E",
    "root_owner=0:0",
    ...(o.journal ? [] : ["-O", "^has_journal"]),
    ...(o.inodes ? ["-N", String(o.inodes)] : []),
    ...(o.from ? ["-d", o.from] : []),
    path,
    `${mib}M`,
  ], { why: `make the disk image ${path}` });
}
