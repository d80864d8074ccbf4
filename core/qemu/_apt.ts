/**
 * The guest's Debian packages, fetched with `apt-get download` (no root, nothing installed on
 * the host) into `<cache>/debs/` and unpacked with `dpkg-deb -x`. Which version: the candidate
 * `apt-cache show --no-all-versions` names, with its SHA256 from the signed archive index —
 * the cache key uses that digest, and a downloaded file must match it. A deb already in the
 * cache with the right size is not fetched again (offline rebuilds work).
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { NxError } from "../errors.ts";
import { findTool, runOk } from "./_run.ts";

/**
 * The packages of the guest: the generic kernel (its modules; the cloud flavour lacks drivers),
 * busybox as the userland, glibc and libgcc for Deno, util-linux's setpriv, setsid and prlimit
 * with their libraries (libcap-ng for setpriv, libsmartcols for prlimit) for migrations.
 */
export const KERNEL_META_PACKAGE = "linux-image-amd64";
export const GUEST_PACKAGES = [
  "busybox-static",
  "libc6",
  "libgcc-s1",
  "util-linux",
  "libcap-ng0",
  "libsmartcols1",
];

export interface Deb {
  package: string;
  version: string;
  /** The archive's file name (pool basename). */
  file: string;
  size: number;
  sha256: string;
}

/** The fields of `apt-cache show` records (one per blank-line-separated stanza). */
export function parseStanzas(text: string): Record<string, string>[] {
  return text.split(/\n\s*\n/).map((stanza) => {
    const fields: Record<string, string> = {};
    let last = "";
    for (const line of stanza.split("\n")) {
      if (/^\s/.test(line) && last) fields[last] += `\n${line.trim()}`;
      else {
        const m = line.match(/^([A-Za-z0-9-]+):\s*(.*)$/);
        if (m) fields[last = m[1]] = m[2];
      }
    }
    return fields;
  }).filter((f) => f.Package !== undefined);
}

function debOf(fields: Record<string, string>): Deb {
  return {
    package: fields.Package,
    version: fields.Version,
    file: basename(fields.Filename ?? ""),
    size: Number(fields.Size),
    sha256: fields.SHA256 ?? "",
  };
}

/** The versioned kernel package a `linux-image-amd64` record depends on. */
export function kernelPackageOf(fields: Record<string, string>): string | undefined {
  return (fields.Depends ?? "").split(",").map((d) => d.trim().split(/[\s|(]/)[0])
    .find((name) => /^linux-image-[0-9]+\.[0-9]+\.[0-9]+-[0-9]+-amd64$/.test(name));
}

async function show(names: string[]): Promise<Record<string, string>[]> {
  const aptCache = await findTool("apt-cache", "resolve the guest's Debian packages");
  let text: string;
  try {
    text = new TextDecoder().decode(
      await runOk(aptCache, ["show", "--no-all-versions", ...names], {
        why: "resolve the guest's Debian packages",
      }),
    );
  } catch (e) {
    if (!(e instanceof NxError) || e.code !== "io.failed") throw e;
    throw new NxError("io.failed", e.message, {
      hint: "the package lists may be missing: run apt-get update",
      details: e.details,
      cause: e,
    });
  }
  return parseStanzas(text);
}

/**
 * What the candidates depend on: apt's package lists and its configuration (sources,
 * preferences). Their names, sizes and mtimes; a change (apt-get update) resolves again.
 */
async function aptStamp(): Promise<string> {
  const hash = createHash("sha256");
  const walk = async (dir: string, depth: number) => {
    let names: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) names.push(e);
    } catch {
      return;
    }
    names = names.sort((a, b) => a.name < b.name ? -1 : 1);
    for (const e of names) {
      const path = join(dir, e.name);
      if (e.isDirectory && depth > 0) await walk(path, depth - 1);
      else if (e.isFile) {
        const info = await Deno.stat(path).catch(() => undefined);
        hash.update(`${path}\0${info?.size}\0${info?.mtime?.getTime()}\0`);
      }
    }
  };
  await walk("/var/lib/apt/lists", 0);
  await walk("/etc/apt", 2);
  return hash.digest("hex");
}

/**
 * The exact debs of the guest: the current kernel first, then {@link GUEST_PACKAGES}. Two
 * `apt-cache show` runs take seconds, so the answer is kept in `cacheFile` while apt's lists
 * and configuration are unchanged.
 */
export async function resolveDebs(cacheFile?: string): Promise<Deb[]> {
  const stamp = await aptStamp();
  if (cacheFile) {
    try {
      const kept = JSON.parse(await Deno.readTextFile(cacheFile));
      if (kept.stamp === stamp && Array.isArray(kept.debs)) return kept.debs as Deb[];
    } catch { /* resolve */ }
  }
  const debs = await resolveWithApt();
  if (cacheFile) {
    await Deno.mkdir(dirname(cacheFile), { recursive: true });
    await Deno.writeTextFile(`${cacheFile}.${Deno.pid}.tmp`, JSON.stringify({ stamp, debs }));
    await Deno.rename(`${cacheFile}.${Deno.pid}.tmp`, cacheFile);
  }
  return debs;
}

async function resolveWithApt(): Promise<Deb[]> {
  const [meta] = await show([KERNEL_META_PACKAGE]);
  const kernel = meta && kernelPackageOf(meta);
  if (!kernel) {
    throw new NxError(
      "io.failed",
      `cannot resolve the guest kernel: ${KERNEL_META_PACKAGE} names none`,
    );
  }
  const records = await show([kernel, ...GUEST_PACKAGES]);
  const debs = [kernel, ...GUEST_PACKAGES].map((name) => {
    const found = records.find((r) => r.Package === name);
    if (!found || !found.SHA256 || !found.Filename) {
      throw new NxError(
        "io.failed",
        `cannot resolve the guest package ${name}: no archive record`,
        {
          hint: "run apt-get update",
        },
      );
    }
    return debOf(found);
  });
  return debs;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  const buffer = new Uint8Array(1 << 20);
  for (let n; (n = await file.read(buffer)) !== null;) hash.update(buffer.subarray(0, n));
  return hash.digest("hex");
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return undefined;
  }
}

/** Makes sure every deb is in `dir` (downloads the missing ones); returns their paths. */
export async function fetchDebs(debs: Deb[], dir: string, log: (line: string) => void) {
  await Deno.mkdir(dir, { recursive: true });
  const missing = [];
  for (const deb of debs) {
    if (await sizeOf(join(dir, deb.file)) !== deb.size) missing.push(deb);
  }
  if (missing.length > 0) {
    log(`downloading ${missing.map((d) => `${d.package} ${d.version}`).join(", ")}`);
    const aptGet = await findTool("apt-get", "download the guest's Debian packages");
    const tmp = await Deno.makeTempDir({ dir, prefix: ".download-" });
    try {
      await runOk(aptGet, ["download", ...missing.map((d) => `${d.package}=${d.version}`)], {
        cwd: tmp,
        why: "download the guest's Debian packages",
      });
      const got = [];
      for await (const e of Deno.readDir(tmp)) got.push(e.name);
      for (const deb of missing) {
        const name = got.find((n) => n.startsWith(`${deb.package}_`) && n.endsWith(".deb"));
        if (!name) {
          throw new NxError("io.failed", `cannot download ${deb.package}: apt-get gave no file`);
        }
        const digest = await sha256File(join(tmp, name));
        // trust: a downloaded deb must be the one the archive index names
        if (digest !== deb.sha256) {
          throw new NxError("io.failed", `cannot use ${name}: its SHA256 is not the archive's`, {
            details: { file: name, expected: deb.sha256, actual: digest },
          });
        }
        await Deno.rename(join(tmp, name), join(dir, deb.file));
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  // Debs of other versions are superseded.
  const keep = new Set(debs.map((d) => d.file));
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".deb") && !keep.has(e.name)) {
      await Deno.remove(join(dir, e.name)).catch(() => {});
    }
  }
  return debs.map((d) => join(dir, d.file));
}

/** Unpacks a deb's files into `dest` (dpkg-deb -x: no maintainer scripts, no root). */
export async function unpackDeb(deb: string, dest: string): Promise<void> {
  const dpkgDeb = await findTool("dpkg-deb", "unpack the guest's Debian packages");
  await runOk(dpkgDeb, ["-x", deb, dest], { why: `unpack ${basename(deb)}` });
}
