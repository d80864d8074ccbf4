import assert from "node:assert/strict";
import { join } from "node:path";
import { bootReady, consoleLines, consoleSize, tailLines, waitForConsole } from "./console.ts";

const boot = [
  "nx-init: [2.10] image 0123456789abcdef, kernel 6.1.0-57-amd64",
  "nx-init: [3.00] selftest",
  "pkgr: ready", // a selftest's own marker: not the agent's
  "nx-init: [9.00] starting agent",
  "agent: listening serial:/run/nx/agent.port",
  "pkgr: ready",
].join("\r\n") + "\r\n";

Deno.test("bootReady() wants pkgr: ready after init started the agent", () => {
  assert.equal(bootReady(boot), true);
  assert.equal(bootReady(boot.slice(0, boot.indexOf("nx-init: [9.00]"))), false);
  assert.equal(bootReady(boot.replace(/pkgr: ready\r\n$/, "")), false);
  // The marker is a fixed substring: a kernel message glued before it still counts.
  assert.equal(bootReady("nx-init: starting agent\n[ 5.1] x: ypkgr: ready\n"), true);
});

Deno.test("consoleLines() takes CR LF and LF lines; tailLines() the last n", () => {
  assert.deepEqual(consoleLines("a\r\nb\nc"), ["a", "b", "c"]);
  assert.deepEqual(tailLines("a\r\nb\r\nc\r\n", 2), ["b", "c"]);
  assert.deepEqual(tailLines("", 2), []);
});

Deno.test("waitForConsole() reads a growing log from an offset until the boot is ready", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "console.log");
  await Deno.writeTextFile(path, boot); // an earlier boot, before a reset
  const from = await consoleSize(path);
  let polls = 0;
  const waiting = waitForConsole(path, {
    from,
    timeoutMs: 60_000,
    pollMs: 5,
    alive: async () => {
      polls++;
      if (polls === 3) {
        await Deno.writeTextFile(path, "nx-init: [1.0] starting agent\r\n", { append: true });
      }
      if (polls === 6) await Deno.writeTextFile(path, "pkgr: re", { append: true });
      if (polls === 9) await Deno.writeTextFile(path, "ady\r\n", { append: true });
      return true;
    },
  });
  const r = await waiting;
  assert.equal(r.kind, "ready");
  assert.equal(r.text, "nx-init: [1.0] starting agent\r\npkgr: ready\r\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("waitForConsole() says when QEMU went, and when time ran out", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "console.log");
  await Deno.writeTextFile(path, "nx-init: [1.0] fatal: no /dev/vda\r\n");
  const exited = await waitForConsole(path, {
    timeoutMs: 60_000,
    alive: () => Promise.resolve(false),
  });
  assert.equal(exited.kind, "exited");
  assert.match(exited.text, /fatal/);
  const late = await waitForConsole(path, {
    timeoutMs: 20,
    pollMs: 5,
    alive: () => Promise.resolve(true),
  });
  assert.equal(late.kind, "timeout");
  // No log yet (QEMU has not opened it): nothing read, no error.
  const none = await waitForConsole(join(dir, "missing.log"), {
    timeoutMs: 0,
    alive: () => Promise.resolve(true),
  });
  assert.deepEqual(none, { kind: "timeout", text: "" });
  await Deno.remove(dir, { recursive: true });
});
