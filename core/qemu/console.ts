/**
 * The guest's console log (ttyS0 → `console.log`) is its marker log: init's `nx-init: …` lines,
 * the agent's `pkgr: ready` and call markers, `SELFTEST: …` lines, kernel messages. Waiting
 * for a marker reads the file as it grows. A boot is ready at the first `pkgr: ready` after
 * init's `starting agent` line (a selftest before the agent may print markers of its own), and
 * a reboot (a power cut: `system_reset`) appends a new boot to the same file — so the search
 * starts at an offset the caller took before.
 */
import { NxError } from "../errors.ts";

export const READY_MARKER = "pkgr: ready";
/** init's line just before it starts the agent (qemu/guest/init). */
export const AGENT_START = /^nx-init: (\[[0-9.]+\] )?starting agent$/;

/** The log's lines: CR LF (a tty's ONLCR) or LF ended, control characters kept. */
export function consoleLines(text: string): string[] {
  return text.split("\n").map((l) => l.replace(/\r+$/, ""));
}

/**
 * Whether `text` holds a boot that is ready: a line containing {@link READY_MARKER} after an
 * {@link AGENT_START} line (the marker is a fixed substring, as upstream's harness reads it).
 */
export function bootReady(text: string): boolean {
  let started = false;
  for (const line of consoleLines(text)) {
    if (AGENT_START.test(line)) started = true;
    else if (started && line.includes(READY_MARKER)) return true;
  }
  return false;
}

/** The last `n` lines of `text` (for error details), without a trailing empty one. */
export function tailLines(text: string, n: number): string[] {
  const lines = consoleLines(text);
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-n);
}

/** The console log's size now: the offset a later wait starts from. */
export async function consoleSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/** Reads `path` from `offset` to its current end (nothing when it does not exist yet). */
export async function readFrom(path: string, offset: number): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Uint8Array(0);
    throw new NxError("io.failed", `cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const size = (await file.stat()).size;
    if (size <= offset) return new Uint8Array(0);
    await file.seek(offset, Deno.SeekMode.Start);
    const out = new Uint8Array(size - offset);
    let at = 0;
    while (at < out.length) {
      const n = await file.read(out.subarray(at));
      if (n === null) break;
      at += n;
    }
    return out.subarray(0, at);
  } finally {
    file.close();
  }
}

export interface WaitOptions {
  /** Byte offset to read from (see the module comment). */
  from?: number;
  timeoutMs: number;
  /** Polled between reads: false stops the wait (QEMU is gone). */
  alive: () => Promise<boolean>;
  pollMs?: number;
  signal?: AbortSignal;
}

export type WaitResult =
  | { kind: "ready"; text: string }
  | { kind: "exited"; text: string }
  | { kind: "timeout"; text: string };

/** Waits until the log from `from` on satisfies `done` (default: {@link bootReady}). */
export async function waitForConsole(
  path: string,
  o: WaitOptions,
  done: (text: string) => boolean = bootReady,
): Promise<WaitResult> {
  const deadline = performance.now() + o.timeoutMs;
  const decoder = new TextDecoder();
  let offset = o.from ?? 0;
  let text = "";
  for (;;) {
    const bytes = await readFrom(path, offset);
    offset += bytes.length;
    text += decoder.decode(bytes, { stream: true });
    if (done(text)) return { kind: "ready", text };
    if (!(await o.alive())) {
      // A last read: what QEMU wrote before it went.
      text += decoder.decode(await readFrom(path, offset));
      return done(text) ? { kind: "ready", text } : { kind: "exited", text };
    }
    if (performance.now() >= deadline || o.signal?.aborted) return { kind: "timeout", text };
    await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
  }
}
