import assert from "node:assert/strict";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { parseProc } from "./_proc.ts";
import { cleanMonitorText, monitorCommand } from "./monitor.ts";

const code = (e: unknown) => e instanceof NxError ? e.code : `not an NxError: ${e}`;

/** A stand-in for QEMU's HMP on a unix socket: banner, prompt, echo, one answer per command. */
function fakeMonitor(path: string, answers: Record<string, string>) {
  const listener = Deno.listen({ transport: "unix", path });
  const seen: string[] = [];
  const served = (async () => {
    const conn = await listener.accept();
    const enc = new TextEncoder();
    await conn.write(
      enc.encode("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "),
    );
    const buffer = new Uint8Array(256);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const command = text.trim();
    seen.push(command);
    // HMP echoes the line with readline's redraw escapes, then answers, then prompts again.
    await conn.write(enc.encode(`${command}\x1b[K\r\n${answers[command] ?? ""}(qemu) `));
    conn.close();
    listener.close();
  })();
  return { seen, served };
}

Deno.test("monitorCommand() sends one command and returns what it printed", async () => {
  const dir = await Deno.makeTempDir();
  const socket = join(dir, "monitor.sock");
  const fake = await fakeMonitor(socket, { "info status": "VM status: running\r\n" });
  assert.equal(await monitorCommand(socket, "info status"), "VM status: running");
  await fake.served;
  assert.deepEqual(fake.seen, ["info status"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("monitorCommand() without a monitor is io.failed", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    () => monitorCommand(join(dir, "none.sock"), "system_powerdown"),
    (e) => code(e) === "io.failed",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cleanMonitorText() drops terminal escapes and carriage returns", () => {
  assert.equal(cleanMonitorText("a\x1b[K\x1b[D\r\nb"), "a\nb");
});

Deno.test("parseProc() reads the state, argv and age of a process from /proc's files", () => {
  // /proc/uptime, then /proc/<pid>/stat (a command name with a space and a parenthesis), then
  // the NUL-separated cmdline.
  const stat = "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 " +
    "1 0 0 0 10 5 0 0 20 0 4 0 12000 0 0";
  const text = `250.50 400.00\n${stat}\nqemu-system-x86_64\0-name\0nx-default\0`;
  assert.deepEqual(parseProc(text), {
    state: "S",
    argv: ["qemu-system-x86_64", "-name", "nx-default"],
    seconds: 131, // 250.5 s of uptime, started at tick 12000 (USER_HZ 100)
  });
  assert.equal(parseProc("250.5 1\n"), undefined);
  const zombie = parseProc(`1.0 1\n7 (a) b) Z 1\n`);
  assert.equal(zombie?.state, "Z");
});
