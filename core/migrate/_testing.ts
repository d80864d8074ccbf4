/** Temp bundles and data dirs, and assertions, for the migration sandbox tests. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MigrationStep } from "../bundle/mod.ts";
import { NxError } from "../errors.ts";

export const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const STEP: MigrationStep = { from: "1.0.0", to: "1.1.0", script: "migrations/step.ts" };
export const LIMITS = { stepTimeoutMs: 20_000 };

export interface World {
  root: string;
  bundle: string;
  data: string;
  outside: string;
}

/** A temp bundle whose `migrations/step.ts` is `script`, an empty data dir and an outside dir. */
export async function withWorld(script: string, fn: (w: World) => Promise<void>): Promise<void> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "nx-migrate-test-" }));
  const w = {
    root,
    bundle: join(root, "bundle"),
    data: join(root, "data"),
    outside: join(root, "outside"),
  };
  await Deno.mkdir(join(w.bundle, "migrations"), { recursive: true });
  await Deno.mkdir(w.data);
  await Deno.mkdir(w.outside);
  await Deno.writeTextFile(join(w.bundle, STEP.script), script);
  try {
    await fn(w);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

export async function failure(p: Promise<unknown>, code: string): Promise<NxError> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof NxError)) throw e;
    assert.equal(e.code, code, `${e.code}: ${e.message}\n${JSON.stringify(e.details)}`);
    return e;
  }
  assert.fail(`expected ${code}, got success`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * `p`, or a failure if it has not settled within `ms`; then the step (known by the pid it wrote
 * to `pidFile`) is killed here so that a broken kill path cannot leave a process behind.
 */
export async function within<T>(p: Promise<T>, ms: number, pidFile: string): Promise<T> {
  let fired = false;
  const timer = setTimeout(async () => {
    fired = true;
    try {
      Deno.kill(Number(await Deno.readTextFile(pidFile)), "SIGKILL");
    } catch {
      // Nothing to kill.
    }
  }, ms);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
    assert.equal(fired, false, `the step outlived ${ms} ms and had to be killed by the test`);
  }
}

export const q = JSON.stringify;
/** A line that proves the script ran: it creates `<data>/ran`. */
export const MARK = `await Deno.writeTextFile(Deno.args[0] + "/ran", "yes");\n`;

/**
 * Polls `probe` every 10 ms until it returns a value. The bound only turns a hang (a broken
 * build) into a failure; no outcome depends on timing.
 */
export async function pollUntil<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  boundMs = 30_000,
): Promise<T> {
  const deadline = performance.now() + boundMs;
  while (true) {
    const got = await probe();
    if (got !== undefined) return got;
    if (performance.now() > deadline) assert.fail(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A script line that blocks until `<data>/release` exists. */
export const BLOCK =
  `while (true) {\n  try {\n    Deno.statSync(Deno.args[0] + "/release");\n    break;\n  } catch { /* not yet */ }\n  await new Promise((r) => setTimeout(r, 10));\n}\n`;
