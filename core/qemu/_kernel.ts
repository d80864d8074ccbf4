/**
 * The guest kernel from the Debian kernel package, unpacked once per package into
 * `<cache>/kernel-<hash16>/`: the kernel QEMU boots and the modules init loads.
 *
 * The kernel: Debian compresses its bzImage with xz (CONFIG_KERNEL_XZ). Decompressed on the
 * host (`xz`, Debian priority "standard") it is an ELF vmlinux with a PVH entry note, which
 * QEMU starts in 32-bit mode — no real-mode setup and no in-guest decompression, about a
 * second less per boot under TCG. Without xz, or when the payload is not a PVH ELF, the guest
 * boots the bzImage itself (slower, same result); kernel.json says which.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { unpackDeb } from "./_apt.ts";
import { bzImagePayload, hasPvhEntry } from "./_bzimage.ts";
import { GUEST_MODULES, loadOrder, moduleDepends, moduleName } from "./_modules.ts";
import { run, whichTool } from "./_run.ts";

/** Bump when the layout of a kernel directory changes. */
const KERNEL_LAYOUT = 1;

export interface KernelInfo {
  /** `uname -r` of the kernel. */
  release: string;
  /** "pvh": `kernel` is the uncompressed vmlinux; "bzImage": it is the compressed image. */
  boot: "pvh" | "bzImage";
  /** Why the bzImage is booted, when it is. */
  note?: string;
  /** Module file names below `modules/`, in load order. */
  modules: string[];
}

export interface Kernel extends KernelInfo {
  dir: string;
  /** What -kernel takes. */
  kernel: string;
}

export function kernelKey(debSha256: string): string {
  return createHash("sha256").update(JSON.stringify([KERNEL_LAYOUT, debSha256, GUEST_MODULES]))
    .digest("hex").slice(0, 16);
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as T;
  } catch {
    return undefined;
  }
}

/** The kernel directory for the kernel deb, made when missing. */
export async function prepareKernel(
  cache: string,
  deb: { path: string; sha256: string },
  log: (line: string) => void,
): Promise<Kernel> {
  const dir = join(cache, `kernel-${kernelKey(deb.sha256)}`);
  const info = await readJson<KernelInfo>(join(dir, "kernel.json"));
  if (info) return { ...info, dir, kernel: join(dir, "kernel") };
  log("unpacking the kernel");
  const tmp = await Deno.makeTempDir({ dir: cache, prefix: ".kernel-" });
  try {
    const unpacked = join(tmp, "deb");
    await unpackDeb(deb.path, unpacked);
    const made = await extract(unpacked, tmp);
    await Deno.remove(unpacked, { recursive: true });
    await Deno.writeTextFile(join(tmp, "kernel.json"), JSON.stringify(made, null, 2) + "\n");
    await Deno.rename(tmp, dir).catch(async (e) => {
      // Another build made it meanwhile: use theirs.
      if (!(await readJson(join(dir, "kernel.json")))) throw e;
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  for await (const e of Deno.readDir(cache)) {
    if (e.name.startsWith("kernel-") && join(cache, e.name) !== dir) {
      await Deno.remove(join(cache, e.name), { recursive: true }).catch(() => {});
    }
  }
  return prepareKernel(cache, deb, log);
}

async function extract(unpacked: string, out: string): Promise<KernelInfo> {
  const boot = join(unpacked, "boot");
  const images = [];
  for await (const e of Deno.readDir(boot)) if (e.name.startsWith("vmlinuz-")) images.push(e.name);
  if (images.length !== 1) {
    throw new NxError(
      "io.failed",
      `cannot find the kernel in the deb: ${images.length} vmlinuz files`,
    );
  }
  const release = images[0].slice("vmlinuz-".length);
  const bzImage = await Deno.readFile(join(boot, images[0]));
  const vmlinux = await decompress(bzImage);
  if (vmlinux instanceof Uint8Array) await Deno.writeFile(join(out, "kernel"), vmlinux);
  else await Deno.writeFile(join(out, "kernel"), bzImage);
  const modules = await copyModules(
    join(unpacked, "lib", "modules", release),
    join(out, "modules"),
  );
  return {
    release,
    boot: vmlinux instanceof Uint8Array ? "pvh" : "bzImage",
    ...(vmlinux instanceof Uint8Array ? {} : { note: vmlinux }),
    modules,
  };
}

/** The PVH vmlinux inside the bzImage, or why the bzImage must be booted instead. */
async function decompress(bzImage: Uint8Array): Promise<Uint8Array | string> {
  const payload = bzImagePayload(bzImage);
  if (payload instanceof Error) return `not a bzImage payload: ${payload.message}`;
  if (payload.compression !== "xz") return `the kernel is ${payload.compression}-compressed`;
  const xz = await whichTool("xz");
  if (!xz) return "xz is not installed (apt-get install xz-utils boots faster)";
  // The payload ends with the 4-byte uncompressed size: --single-stream ignores it.
  const r = await run(xz, ["-dc", "--single-stream"], {
    stdin: payload.bytes,
    why: "unpack the kernel",
  });
  if (r.code !== 0) return `xz could not unpack it: ${r.stderr.trim()}`;
  if (!hasPvhEntry(r.stdout)) return "the vmlinux has no PVH entry note";
  return r.stdout;
}

async function indexModules(dir: string, found = new Map<string, string>()) {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) await indexModules(path, found);
    else if (e.name.endsWith(".ko")) found.set(moduleName(e.name), path);
  }
  return found;
}

async function copyModules(moduleDir: string, out: string): Promise<string[]> {
  const files = await indexModules(join(moduleDir, "kernel"));
  // A module built into this kernel (modules.builtin) needs no file and no loading.
  const builtin = new Set(
    (await Deno.readTextFile(join(moduleDir, "modules.builtin")).catch(() => "")).split("\n")
      .filter((l) => l.endsWith(".ko")).map((l) => moduleName(l.split("/").at(-1)!)),
  );
  const depends = new Map<string, string[]>();
  for (const name of builtin) depends.set(name, []);
  for (const name of GUEST_MODULES) await collect(name);
  async function collect(name: string): Promise<void> {
    const file = files.get(name);
    if (file === undefined || depends.has(name)) return;
    const deps = moduleDepends(await Deno.readFile(file));
    depends.set(name, deps);
    for (const d of deps) await collect(d);
  }
  const order = loadOrder(GUEST_MODULES, (n) => depends.get(n));
  if (order instanceof Error) {
    throw new NxError("io.failed", `cannot pick the guest's kernel modules: ${order.message}`);
  }
  await Deno.mkdir(out);
  const load = order.filter((n) => !builtin.has(n));
  for (const name of load) await Deno.copyFile(files.get(name)!, join(out, `${name}.ko`));
  return load.map((n) => `${n}.ko`);
}
