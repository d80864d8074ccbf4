/**
 * qemu/postflight.sh as one test of the suite (so CI's `N passed, N failed` counts it): the notes
 * lifecycle over both transports on a fresh QEMU guest, a tampered bundle, the selftest over the
 * transport and in the guest at boot, every expected marker on the console (docs/qemu_tests.md).
 * Its guest lives under a temp XDG_RUNTIME_DIR with a name of its own; its timing summary is
 * printed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { guestTurn, QEMU_AVAILABLE } from "./_qemu.ts";
import { REPO, tempDir } from "./helpers.ts";

Deno.test({
  name: QEMU_AVAILABLE
    ? "qemu/postflight.sh passes on a fresh QEMU guest"
    : "qemu/postflight.sh (skipped: qemu-system-x86_64 not found)",
  ignore: !QEMU_AVAILABLE,
}, async () => {
  using _turn = await guestTurn();
  const dir = await tempDir("nx-postflight-");
  await Deno.mkdir(join(dir, "run"), { mode: 0o700 });
  const run = await new Deno.Command("bash", {
    args: [join(REPO, "qemu", "postflight.sh")],
    env: { XDG_RUNTIME_DIR: join(dir, "run"), NX_POSTFLIGHT_GUEST: `pf${Deno.pid % 100000}` },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  console.log(
    stderr.split("\n").filter((l) => /^(postflight: (timings|ok|FAIL)| {2})/.test(l)).join("\n"),
  );
  assert.equal(run.code, 0, stderr);
  await Deno.remove(dir, { recursive: true });
});
