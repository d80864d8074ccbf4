/**
 * `nx qemu build`: the guest image, cached by the hash of its inputs in
 * `<cache>/image-<hash16>/` — `kernel` (what -kernel takes), `initrd` (newc cpio), `system.img`
 * (ext4, read-only in the guest: the repository's bin/nx, bundle, sources, fixtures and
 * node_modules with the pinned Deno; glibc, libgcc, util-linux's tools) and `manifest.json`.
 * The hash covers the debs' SHA256 (from the archive index), qemu/guest/*, every repository
 * file copied, and this builder's layout version; unchanged inputs: nothing is rebuilt.
 * docs/qemu.md describes the image.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { type Deb, fetchDebs, resolveDebs, sha256File, unpackDeb } from "./_apt.ts";
import { makeExt4 } from "./_disk.ts";
import { initramfs, SYSTEM_ROOT } from "./_initramfs.ts";
import { prepareKernel } from "./_kernel.ts";
import { run, runOk } from "./_run.ts";
import { warmUp } from "./_warmup.ts";
import { listTree, REPO_PARTS, stageTree, treeBytes, treeDigest, type TreeEntry } from "./_tree.ts";

/** Bump when the image's layout changes without any input changing. */
export const IMAGE_LAYOUT = 3;
export const MANIFEST_FORMAT = "nx-qemu-image";
/** A warm-up boot is a first boot under TCG, on a loaded CI machine too. */
const WARMUP_TIMEOUT_MS = 600_000;

export interface BuildOptions {
  /** The repository whose code the guest runs. */
  repo: string;
  /** The image cache (paths.ts cacheDir). */
  cache: string;
  /** Progress lines ("downloading …", "image up to date"). */
  log: (line: string) => void;
}

export interface Image {
  dir: string;
  /** The first 16 hex digits of the input hash. */
  hash: string;
  kernel: string;
  initrd: string;
  system: string;
  manifest: string;
  /** "pvh": an uncompressed vmlinux; "bzImage": the compressed kernel (slower boot). */
  boot: "pvh" | "bzImage";
  /** The warm-up boot's state disk (a root, warm Deno caches) fresh guests start from. */
  stateTemplate: string | null;
  /** Nothing was built: an image of these inputs existed. */
  upToDate: boolean;
  /** Sizes in bytes. */
  bytes: { kernel: number; initrd: number; system: number };
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof IMAGE_LAYOUT;
  hash: string;
  kernel: {
    package: string;
    version: string;
    release: string;
    boot: "pvh" | "bzImage";
    note?: string;
  };
  modules: string[];
  debs: { package: string; version: string; sha256: string }[];
  guest: Record<string, string>;
  repo: { digest: string; entries: number };
  /** The warm-up boot (_warmup.ts): whether it made the state disk template, and its time. */
  warmup: { ok: boolean; seconds: number; problem?: string[] };
}

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");

/** The repository's bundle is fresh (bin/nx's own check), else `deno task build` makes it so. */
async function ensureBundle(repo: string, log: (line: string) => void): Promise<void> {
  const fresh = async () =>
    (await run(join(repo, "bin", "nx"), ["--version"], {
      env: { NX_CLI: "bundle" },
      why: "check the bundle",
    })).code === 0;
  if (await fresh()) return;
  log("building the bundle (deno task build)");
  await runOk(Deno.execPath(), ["task", "build"], { cwd: repo, why: "build the bundle" });
  if (!(await fresh())) {
    throw new NxError("io.failed", "cannot build the image: the bundle is older than the sources", {
      hint: "a source changed while it was built: run nx qemu build again",
      details: { stale: true },
    });
  }
}

async function readGuestFiles(repo: string): Promise<Map<string, Uint8Array>> {
  const dir = join(repo, "qemu", "guest");
  const files = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile) files.set(e.name, await Deno.readFile(join(dir, e.name)));
  }
  if (!files.has("init")) {
    throw new NxError("io.failed", `cannot build the image: ${dir}/init is missing`);
  }
  return files;
}

async function readManifest(path: string): Promise<Manifest | undefined> {
  try {
    const m = JSON.parse(await Deno.readTextFile(path)) as Manifest;
    return m.format === MANIFEST_FORMAT && m.version === IMAGE_LAYOUT ? m : undefined;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await Deno.stat(path)).size;
}

async function imageOf(dir: string, m: Manifest, upToDate: boolean): Promise<Image> {
  const kernel = join(dir, "kernel");
  const initrd = join(dir, "initrd");
  const system = join(dir, "system.img");
  const template = join(dir, "state-template.img");
  return {
    dir,
    hash: m.hash.slice(0, 16),
    kernel,
    initrd,
    system,
    manifest: join(dir, "manifest.json"),
    boot: m.kernel.boot,
    stateTemplate: m.warmup.ok ? template : null,
    upToDate,
    bytes: {
      kernel: await sizeOf(kernel),
      initrd: await sizeOf(initrd),
      system: await sizeOf(system),
    },
  };
}

/**
 * The image of the current inputs: the cached one, or a new build. A source edited while the
 * image was made (the staged bundle is then stale) starts it over, twice at most.
 */
export async function buildImage(o: BuildOptions): Promise<Image> {
  for (let attempt = 1;; attempt++) {
    try {
      return await buildOnce(o);
    } catch (e) {
      if (!(e instanceof NxError && e.details?.stale === true) || attempt === 3) throw e;
      o.log("a source changed during the build: starting over");
    }
  }
}

async function buildOnce(o: BuildOptions): Promise<Image> {
  await ensureBundle(o.repo, o.log);
  await Deno.mkdir(o.cache, { recursive: true });
  const debs = await resolveDebs(join(o.cache, "debs.json"));
  const entries = await listTree(o.repo, REPO_PARTS);
  const repoDigest = await treeDigest(o.repo, entries, join(o.cache, "digests.json"));
  const guest = await readGuestFiles(o.repo);
  const guestDigests = Object.fromEntries([...guest].map(([n, d]) => [n, sha256(d)]).sort());
  const hash = sha256(JSON.stringify({
    layout: IMAGE_LAYOUT,
    debs: debs.map((d) => [d.package, d.version, d.sha256]),
    guest: guestDigests,
    repo: repoDigest,
  }));
  const dir = join(o.cache, `image-${hash.slice(0, 16)}`);
  const cached = await readManifest(join(dir, "manifest.json"));
  if (cached) return imageOf(dir, cached, true);

  await Deno.mkdir(o.cache, { recursive: true });
  const files = await fetchDebs(debs, join(o.cache, "debs"), o.log);
  for (const [i, deb] of debs.entries()) {
    // trust: a cached deb is used only while it is still the one the archive index names
    if (await sha256File(files[i]) !== deb.sha256) {
      await Deno.remove(files[i]);
      throw new NxError("io.failed", `cannot use ${files[i]}: its SHA256 changed`, {
        hint: "it was removed: run nx qemu build again to fetch it",
      });
    }
  }
  const kernel = await prepareKernel(o.cache, { path: files[0], sha256: debs[0].sha256 }, o.log);
  o.log(`building image ${hash.slice(0, 16)}`);
  const tmp = await Deno.makeTempDir({ dir: o.cache, prefix: ".image-" });
  try {
    const manifest: Omit<Manifest, "warmup"> = {
      format: MANIFEST_FORMAT,
      version: IMAGE_LAYOUT,
      hash,
      kernel: {
        package: debs[0].package,
        version: debs[0].version,
        release: kernel.release,
        boot: kernel.boot,
        ...(kernel.note ? { note: kernel.note } : {}),
      },
      modules: kernel.modules,
      debs: debs.map((d) => ({ package: d.package, version: d.version, sha256: d.sha256 })),
      guest: guestDigests,
      repo: { digest: repoDigest, entries: entries.length },
    };
    const stage = join(tmp, "stage");
    const busybox = await stageSystem(tmp, stage, debs, files);
    await stageTree(o.repo, join(stage, "repo"), entries);
    await checkStagedLauncher(join(stage, "repo"));
    await Deno.writeTextFile(
      join(stage, "manifest.json"),
      JSON.stringify(manifest, null, 2) + "\n",
    );
    const staged = await listTree(stage, ["."], () => false);
    await makeExt4(join(tmp, "system.img"), {
      bytes: Math.ceil((await treeBytes(stage, staged)) * 1.1) + (48 << 20),
      inodes: staged.length + 4096,
      label: "nxsys",
      from: stage,
      journal: false,
    });
    await Deno.remove(stage, { recursive: true });
    const applets = new TextDecoder().decode(
      await runOk(busybox, ["--list"], { why: "list busybox's applets" }),
    ).split("\n").filter((a) => /^[a-z0-9_.[-]+$/.test(a));
    const modules: [string, Uint8Array][] = [];
    for (const name of kernel.modules) {
      modules.push([name, await Deno.readFile(join(kernel.dir, "modules", name))]);
    }
    await Deno.writeFile(
      join(tmp, "initrd"),
      initramfs({
        busybox: await Deno.readFile(busybox),
        applets,
        modules,
        guest,
        imageHash: hash.slice(0, 16),
      }),
    );
    await Deno.remove(join(tmp, "busybox"), { recursive: true });
    await Deno.copyFile(kernel.kernel, join(tmp, "kernel"));
    o.log("warm-up boot (Deno's caches for every fresh guest)");
    const warmup = await warmUp(tmp, join(tmp, "state-template.img"), WARMUP_TIMEOUT_MS).catch(
      (e) => ({ ok: false, seconds: 0, problem: [String(e instanceof Error ? e.message : e)] }),
    );
    if (!warmup.ok) o.log(`warm-up failed, fresh guests start cold: ${warmup.problem?.at(-1)}`);
    const full: Manifest = { ...manifest, warmup };
    await Deno.writeTextFile(join(tmp, "manifest.json"), JSON.stringify(full, null, 2) + "\n");
    await Deno.rename(tmp, dir).catch(async (e) => {
      if (!(await readManifest(join(dir, "manifest.json")))) throw e; // else another build won
    });
  } catch (e) {
    throw e instanceof NxError
      ? e
      : new NxError("io.failed", `cannot build the image: ${(e as Error).message}`, { cause: e });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  await removeOtherImages(o.cache, dir);
  return imageOf(dir, (await readManifest(join(dir, "manifest.json")))!, false);
}

/** Only the newest image is kept (a running guest keeps its open files either way). */
async function removeOtherImages(cache: string, keep: string): Promise<void> {
  for await (const e of Deno.readDir(cache)) {
    if (e.name.startsWith("image-") && join(cache, e.name) !== keep) {
      await Deno.remove(join(cache, e.name), { recursive: true }).catch(() => {});
    }
  }
}

/**
 * The system part of the stage (`sys/`: lib, lib64, usr/lib from the library debs, util-linux's
 * three tools in usr/bin) and busybox unpacked beside it; returns busybox's path.
 */
async function stageSystem(tmp: string, stage: string, debs: Deb[], files: string[]) {
  const unpacked = join(tmp, "debs");
  let busybox = "";
  for (const [i, deb] of debs.entries()) {
    if (i === 0) continue; // the kernel: prepareKernel
    const into = deb.package === "busybox-static" ? join(tmp, "busybox") : unpacked;
    await unpackDeb(files[i], into);
    if (deb.package === "busybox-static") busybox = join(into, "bin", "busybox");
  }
  const keep = (path: string) =>
    /^(lib|lib64)(\/|$)/.test(path) ||
    /^usr\/lib\/x86_64-linux-gnu(\/|$)/.test(path) && !/\/(gconv|audit)(\/|$)/.test(path) ||
    /^usr\/bin\/(setpriv|setsid|prlimit)$/.test(path) || path === "usr" || path === "usr/lib" ||
    path === "usr/bin";
  const sys: TreeEntry[] = (await listTree(unpacked, ["lib", "lib64", "usr"], (p) => !keep(p)))
    .filter((e) => keep(e.path));
  await stageTree(unpacked, join(stage, SYSTEM_ROOT.split("/").at(-1)!), sys);
  await Deno.remove(unpacked, { recursive: true });
  if (!busybox) throw new NxError("io.failed", "cannot build the image: busybox-static is missing");
  return busybox;
}

/** The staged bin/nx must run the bundle (fresh by its own check), as the guest will. */
async function checkStagedLauncher(repo: string): Promise<void> {
  const r = await run(join(repo, "bin", "nx"), ["--version"], {
    env: { NX_CLI: "bundle" },
    why: "check the staged launcher",
  });
  if (r.code !== 0) {
    throw new NxError(
      "io.failed",
      `cannot build the image: the staged bin/nx fails: ${r.stderr.trim()}`,
      {
        details: { stale: /older than the sources/.test(r.stderr) },
      },
    );
  }
}
