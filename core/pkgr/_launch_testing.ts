/** Test helpers of the launch tests: roots with an app installed from a bundle packed in the test. */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type { AppRecord, CallContext, ProgressEvent } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { openRegistry, registryUrlForFile } from "../registry/mod.ts";
import { appPaths, type RootPaths, rootPaths } from "../store/mod.ts";
import { loadSecretKey, readPublicKeyText } from "./keys.ts";
import type { LaunchOptions } from "./launch.ts";
import { pack } from "./pack.ts";
import { createPkgr } from "./pkgr.ts";

export const FIXTURES = fileURLToPath(new URL("../../fixtures/", import.meta.url));
/** The system shell: a small real x86-64 program that does whatever its `-c` script says. */
export const SH = "/bin/sh";

export const call = (events: ProgressEvent[] = []): CallContext => ({
  now: new Date("2030-01-02T00:00:00Z"),
  reporter: { emit: (e) => events.push(e) },
});

export function code(e: unknown): string {
  return e instanceof NxError ? e.code : `not an NxError: ${e}`;
}

export interface Installed {
  paths: RootPaths;
  record: AppRecord;
  /** apps/<id>/data/<version> */
  data: string;
  /** The parent of the launch's private directory, empty unless a launch left something. */
  scratch: string;
}

/** A fresh root that trusts the dev key, with `bundleDir` installed. */
export async function installInto(bundleDir: string, id: string): Promise<Installed> {
  const top = await Deno.makeTempDir({ prefix: "nx-launch-test-" });
  const paths = rootPaths(join(top, "root"));
  const pkgr = createPkgr({ root: paths });
  const dev = await readPublicKeyText(join(FIXTURES, "keys", "dev.pub"));
  await pkgr.trustAdd({ publicKey: dev, name: "dev" }, call());
  await pkgr.install({ bundle: { kind: "path", path: bundleDir } }, call());
  const registry = await openRegistry(registryUrlForFile(paths.registryDb), { readOnly: true });
  let record: AppRecord | undefined;
  try {
    record = await registry.get(id);
  } finally {
    registry.close();
  }
  assert.ok(record, `${id} is installed`);
  const scratch = join(top, "scratch");
  await Deno.mkdir(scratch);
  return { paths, record, data: appPaths(paths, id).dataOf(record.version), scratch };
}

/** Packs (dev key) and installs an app whose payload is `payload` (payload.nxir for ui). */
export async function installApp(
  id: string,
  payload: Uint8Array,
  kind: "elf" | "ui-program" = "elf",
): Promise<Installed> {
  const src = await Deno.makeTempDir({ prefix: "nx-launch-src-" });
  await Deno.writeTextFile(
    join(src, "manifest.toml"),
    [
      `name = "${id}"`,
      `version = "1.0.0"`,
      `min_sdk = "1.0.0"`,
      `abilities = ["${id}.open"]`,
      `payload_kind = "${kind}"`,
    ].join("\n") + "\n",
  );
  await Deno.writeFile(join(src, kind === "elf" ? "payload.elf" : "payload.nxir"), payload);
  const out = join(src, "..", `${src.split("/").pop()}.nxb`);
  await pack(
    {
      source: src,
      out,
      key: await loadSecretKey(join(FIXTURES, "keys", "dev.key")),
      force: false,
      sourceDateEpoch: 1_700_000_000,
    },
    { emit() {} },
  );
  return installInto(out, id);
}

/** An app whose payload is the system shell: argv `-c <script> …` makes it do anything. */
export const installShell = async (id = "shell") => installApp(id, await Deno.readFile(SH));

export function options(
  app: Installed,
  args: string[],
  extra: Partial<LaunchOptions> = {},
): LaunchOptions {
  return {
    paths: app.paths,
    record: app.record,
    args,
    stdio: "capture",
    scratchDirs: [app.scratch],
    ...extra,
  };
}

export async function assertNoCopyLeft(app: Installed): Promise<void> {
  assert.deepEqual(await Array.fromAsync(Deno.readDir(app.scratch)), [], "the copy is removed");
}

export const fileExists = (path: string) =>
  Deno.lstat(path).then(() => true, (e) => {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  });

/** Waits until `path` exists, or until `running` settled (then its outcome is the test's). */
export async function waitFor(path: string, running: Promise<unknown>): Promise<void> {
  let settled = false;
  running.then(() => settled = true, () => settled = true);
  while (!settled && !(await fileExists(path))) await new Promise((r) => setTimeout(r, 10));
}

/** The state letter of a process (Z: zombie), or undefined when it is gone. */
export async function procState(pid: number): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/stat`);
    return text.slice(text.lastIndexOf(")") + 2).split(" ")[0];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Polls for a killed process to die: at most this many times, 10 ms apart. */
const DEATH_POLLS = 1000;

export async function assertGone(pidFile: string): Promise<void> {
  const pid = Number(await Deno.readTextFile(pidFile));
  let state = await procState(pid);
  // A signalled process dies once it is scheduled; an orphan is a zombie until init reaps it.
  for (let i = 0; i < DEATH_POLLS && state !== undefined && state !== "Z" && state !== "X"; i++) {
    await new Promise((r) => setTimeout(r, 10));
    state = await procState(pid);
  }
  assert.ok(
    state === undefined || state === "Z" || state === "X",
    `process ${pid} runs (${state})`,
  );
}
