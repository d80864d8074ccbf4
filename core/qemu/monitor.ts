/**
 * QEMU's human monitor (HMP) on the guest's `monitor.sock`: one command per connection.
 * `system_powerdown` presses the ACPI power button (the guest's init stops the agent, syncs,
 * unmounts and powers off); `system_reset` is a hard reset — a power cut for everything the
 * guest had not flushed to its disks. The monitor serves one client at a time.
 */
import { NxError } from "../errors.ts";

const PROMPT = "(qemu) ";

/** HMP's output without its terminal escapes (readline redraws) and carriage returns. */
export function cleanMonitorText(text: string): string {
  // deno-lint-ignore no-control-regex -- the escapes are what is removed
  return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/\r/g, "");
}

/** Runs one HMP command; resolves with what it printed (before the next prompt). */
export async function monitorCommand(
  socket: string,
  command: string,
  timeoutMs = 5_000,
): Promise<string> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path: socket });
  } catch (e) {
    throw new NxError(
      "io.failed",
      `cannot reach the QEMU monitor ${socket}: ${(e as Error).message}`,
      {
        details: { socket },
        cause: e,
      },
    );
  }
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const decoder = new TextDecoder();
  let text = "";
  const buffer = new Uint8Array(4096);
  const readUntilPrompt = async (from: number) => {
    while (cleanMonitorText(text).indexOf(PROMPT, from) < 0) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) {
        throw new NxError("io.failed", `cannot run ${command} on the QEMU monitor: it closed`, {
          details: { socket, output: cleanMonitorText(text) },
        });
      }
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
    return cleanMonitorText(text).indexOf(PROMPT, from) + PROMPT.length;
  };
  try {
    const start = await readUntilPrompt(0);
    await conn.write(new TextEncoder().encode(`${command}\n`));
    const end = await readUntilPrompt(start);
    const out = cleanMonitorText(text).slice(start, end - PROMPT.length);
    // The echo of the command comes first.
    return out.split("\n").filter((l, i) => !(i === 0 && l.trim() === command)).join("\n").trim();
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}
