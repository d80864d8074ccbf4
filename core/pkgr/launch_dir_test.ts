import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { allowsExec, makeLaunchDir } from "./launch_dir.ts";

const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;

/** Mount points the kernel says are mounted noexec (none on some machines). */
async function noexecMounts(): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/mounts");
  return text.split("\n").flatMap((line) => {
    const [, point, , opts] = line.split(" ");
    return opts?.split(",").includes("noexec") ? [point.replace(/\\040/g, " ")] : [];
  });
}

Deno.test("makeLaunchDir() makes a private 0700 directory on an exec-capable file system", async () => {
  const parent = await Deno.makeTempDir({ prefix: "nx-launch-dir-" });
  const dir = await makeLaunchDir("app", [parent]);
  assert.ok(dir.startsWith(`${parent}/nx-launch-`), dir);
  assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  assert.equal(allowsExec(dir), true);
});

Deno.test("makeLaunchDir() skips a candidate it cannot write to, and refuses when none is left", async () => {
  const parent = await Deno.makeTempDir({ prefix: "nx-launch-dir-" });
  const missing = join(parent, "missing");
  const dir = await makeLaunchDir("app", [missing, parent]);
  assert.ok(dir.startsWith(`${parent}/nx-launch-`), dir);
  await assert.rejects(makeLaunchDir("app", [missing]), (e) => {
    assert.equal(code(e), "launch.unsupported");
    assert.deepEqual((e as NxError).details!.refused, [`${missing} (not writable)`]);
    return true;
  });
});

const noexec = await noexecMounts();

Deno.test({
  name: "allowsExec() is false on a file system mounted noexec",
  ignore: noexec.length === 0, // nothing on this machine is mounted noexec
  fn() {
    for (const point of noexec) assert.equal(allowsExec(point), false, point);
  },
});
