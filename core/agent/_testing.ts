/** Test helpers of core/agent: roots with fixture apps, bundle copies and their offers. */
import { createHash } from "node:crypto";
import { cp } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";
import type { CallContext, Pkgr, ProgressEvent } from "../api/mod.ts";
import { concatBytes } from "../bytes/mod.ts";
import { createPkgr, readPublicKeyText } from "../pkgr/mod.ts";
import { type ExpectedFile, type RootPaths, rootPaths } from "../store/mod.ts";

export const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));

export async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "nx-agent-" });
}

/** A root path that does not exist yet. */
export async function freshRoot(): Promise<RootPaths> {
  return rootPaths(join(await tempDir(), "root"));
}

/** A fresh copy of a fixture bundle ("notes-1.0.0") as `<tmp>/<name>.nxb`. */
export async function fixtureCopy(id: string): Promise<string> {
  const path = join(await tempDir(), `${id.split("-")[0]}.nxb`);
  await cp(join(FIXTURES, "bundles", `${id}.nxb`), path, { recursive: true });
  return path;
}

export function callContext(events: ProgressEvent[] = [], signal?: AbortSignal): CallContext {
  return {
    now: new Date("2030-01-01T00:00:00Z"),
    reporter: { emit: (e) => events.push(e) },
    signal,
  };
}

/** A root that trusts the dev key, with the fixtures installed in order. */
export async function rootWith(fixtures: string[]): Promise<{ paths: RootPaths; pkgr: Pkgr }> {
  const paths = await freshRoot();
  const pkgr = createPkgr({ root: paths });
  const publicKey = await readPublicKeyText(join(FIXTURES, "keys", "dev.pub"));
  await pkgr.trustAdd({ publicKey, name: "dev" }, callContext());
  for (const id of fixtures) {
    await pkgr.install({ bundle: { kind: "path", path: await fixtureCopy(id) } }, callContext());
  }
  return { paths, pkgr };
}

/** Every regular file below `dir`, sorted by path, with its size and SHA-256: an offer. */
export async function offerOf(dir: string): Promise<ExpectedFile[]> {
  const out: ExpectedFile[] = [];
  const visit = async (at: string) => {
    for await (const e of Deno.readDir(at)) {
      const path = join(at, e.name);
      if (e.isDirectory) await visit(path);
      else if (e.isFile) {
        const bytes = await Deno.readFile(path);
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        out.push({ path: relative(dir, path), size: bytes.length, sha256 });
      }
    }
  };
  await visit(dir);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The bytes the host sends for `need`: the needed files of `dir`, concatenated in order. */
export async function neededBytes(
  dir: string,
  files: readonly ExpectedFile[],
  need: readonly number[],
): Promise<Uint8Array> {
  return concatBytes(await Promise.all(need.map((i) => Deno.readFile(join(dir, files[i].path)))));
}

/** `bytes` cut into pieces of `size` (the last one shorter). */
export function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}
