/**
 * The guest's initramfs (its root file system, in RAM): busybox as /bin, init, the kernel
 * modules init loads, a few /etc files, and links into the system disk mounted at /nx —
 * /lib, /lib64 and /usr are glibc's and util-linux's from there, so Deno and the migration
 * tools (/usr/bin/setpriv, setsid, prlimit; /bin/sh) find what they expect. Uncompressed: the
 * kernel unpacks it without running a decompressor under TCG.
 */
import { join } from "node:path";
import { newcArchive, type NewcEntry } from "./_newc.ts";

/** Where init mounts the system disk, and where its parts are. */
export const SYSTEM_MOUNT = "/nx";
export const SYSTEM_ROOT = `${SYSTEM_MOUNT}/sys`;

export interface InitramfsInputs {
  busybox: Uint8Array;
  /** busybox's applets (`busybox --list`). */
  applets: string[];
  /** Module file name → bytes, in load order. */
  modules: [string, Uint8Array][];
  /** The files of qemu/guest/ (init, …): name → bytes. */
  guest: Map<string, Uint8Array>;
  /** The image's hash, for init's first line. */
  imageHash: string;
}

const text = (s: string) => new TextEncoder().encode(s);

export function initramfsEntries(i: InitramfsInputs): NewcEntry[] {
  const entries: NewcEntry[] = [];
  const dirs = ["bin", "dev", "etc", "modules", "nx", "proc", "root", "run", "state", "sys", "tmp"];
  for (const d of dirs) entries.push({ kind: "dir", path: d, mode: d === "tmp" ? 0o1777 : 0o755 });
  // The kernel opens /dev/console for init before anything is mounted.
  entries.push({ kind: "char", path: "dev/console", major: 5, minor: 1, mode: 0o600 });
  entries.push({ kind: "file", path: "bin/busybox", data: i.busybox, mode: 0o755 });
  for (const applet of [...new Set(i.applets)].sort()) {
    if (applet === "busybox" || applet === "init" || applet === "linuxrc") continue;
    entries.push({ kind: "symlink", path: `bin/${applet}`, target: "busybox" });
  }
  entries.push({ kind: "symlink", path: "sbin", target: "bin" });
  for (const link of ["lib", "lib64", "usr"]) {
    entries.push({ kind: "symlink", path: link, target: `${SYSTEM_ROOT}/${link}` });
  }
  entries.push(
    { kind: "file", path: "etc/passwd", data: text("root:x:0:0:root:/root:/bin/sh\n") },
    { kind: "file", path: "etc/group", data: text("root:x:0:\n") },
    { kind: "file", path: "etc/hosts", data: text("127.0.0.1 localhost\n::1 localhost\n") },
    { kind: "file", path: "etc/nx-image", data: text(`${i.imageHash}\n`) },
  );
  for (const [name, data] of i.modules) {
    entries.push({ kind: "file", path: join("modules", name), data });
  }
  entries.push({
    kind: "file",
    path: "modules/order",
    data: text(i.modules.map(([name]) => `${name}\n`).join("")),
  });
  for (const [name, data] of [...i.guest].sort(([a], [b]) => a < b ? -1 : 1)) {
    entries.push({ kind: "file", path: name, data, mode: 0o755 });
  }
  return entries;
}

export function initramfs(i: InitramfsInputs): Uint8Array {
  return newcArchive(initramfsEntries(i));
}
