import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { cacheDir, checkGuestName, guestPaths, guestsDir } from "./paths.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;

Deno.test("cacheDir() is NX_QEMU_CACHE, else XDG_CACHE_HOME/nx/qemu, else ~/.cache/nx/qemu", () => {
  assert.equal(cacheDir(envOf({ NX_QEMU_CACHE: "/c", HOME: "/h" })), "/c");
  assert.equal(cacheDir(envOf({ XDG_CACHE_HOME: "/x", HOME: "/h" })), "/x/nx/qemu");
  assert.equal(cacheDir(envOf({ HOME: "/h" })), "/h/.cache/nx/qemu");
  // A relative XDG directory is invalid per the spec: ignored.
  assert.equal(cacheDir(envOf({ XDG_CACHE_HOME: "rel", HOME: "/h" })), "/h/.cache/nx/qemu");
  assert.throws(() => cacheDir(envOf({})), (e) => code(e) === "usage.invalid_argument");
});

Deno.test("guestsDir() is XDG_RUNTIME_DIR/nx/qemu, else the XDG state directory", () => {
  assert.equal(
    guestsDir(envOf({ XDG_RUNTIME_DIR: "/run/user/1", HOME: "/h" })),
    "/run/user/1/nx/qemu",
  );
  assert.equal(guestsDir(envOf({ XDG_STATE_HOME: "/st", HOME: "/h" })), "/st/nx/qemu");
  assert.equal(guestsDir(envOf({ HOME: "/h" })), "/h/.local/state/nx/qemu");
});

Deno.test("guestPaths() puts every file of a guest in its own directory", () => {
  const p = guestPaths(envOf({ XDG_RUNTIME_DIR: "/r" }), "ci-1");
  assert.equal(p.dir, "/r/nx/qemu/ci-1");
  assert.deepEqual(
    [p.pid, p.console, p.agentSocket, p.monitorSocket, p.stateImage, p.record],
    ["qemu.pid", "console.log", "agent.sock", "monitor.sock", "state.img", "vm.json"].map((f) =>
      `/r/nx/qemu/ci-1/${f}`
    ),
  );
});

Deno.test("guestPaths() refuses a directory too deep for a unix socket path", () => {
  const deep = `/${"d".repeat(100)}`;
  assert.throws(
    () => guestPaths(envOf({ XDG_RUNTIME_DIR: deep }), "default"),
    (e) => code(e) === "usage.invalid_argument",
  );
});

Deno.test("checkGuestName() takes what a directory and QEMU's -name can carry", async (t) => {
  for (const good of ["default", "a", "ci-2", "x_y", "0"]) {
    await t.step(good, () => assert.equal(checkGuestName(good), good));
  }
  for (const bad of ["", "-x", "../x", "a/b", "A", "a b", "a,b", "x".repeat(33)]) {
    await t.step(JSON.stringify(bad), () => {
      assert.throws(() => checkGuestName(bad), (e) => code(e) === "usage.invalid_argument");
    });
  }
});
