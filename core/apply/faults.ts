/**
 * Fault triggers for tests, named after plan steps (`NX_FAULT`, comma-separated):
 *   fail:<step>          throw fault.injected before the step runs (undo then runs)
 *   crash:<step>         SIGKILL this process before the step (before its `begin` entry)
 *   crash-after:<step>   SIGKILL right after the step completed and was journaled
 *   crash:commit         SIGKILL after the commit mark, before post-commit steps
 *   crash:post:<kind>    SIGKILL before that post-commit step
 *   delay:<step>:<ms>    sleep before the step (widens windows for random-kill tests)
 *   enospc:write[:<s>]   writes to paths containing <s> fail with ENOSPC (also eio:, :fsync)
 */
import { NxError } from "../errors.ts";
import type { IoFault } from "../store/mod.ts";

export interface Faults {
  fail: Set<string>;
  crashBefore: Set<string>;
  crashAfter: Set<string>;
  delays: Map<string, number>;
  io: IoFault[];
}

export const NO_FAULTS: Faults = {
  fail: new Set(),
  crashBefore: new Set(),
  crashAfter: new Set(),
  delays: new Map(),
  io: [],
};

export function parseFaults(spec: string | undefined): Faults {
  const faults: Faults = {
    fail: new Set(),
    crashBefore: new Set(),
    crashAfter: new Set(),
    delays: new Map(),
    io: [],
  };
  for (const item of (spec ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [kind, ...rest] = item.split(":");
    const point = rest.join(":");
    if (kind === "fail" && point) faults.fail.add(point);
    else if (kind === "crash" && point) faults.crashBefore.add(point);
    else if (kind === "crash-after" && point) faults.crashAfter.add(point);
    else if (kind === "delay" && rest.length >= 2 && /^\d+$/.test(rest.at(-1)!)) {
      faults.delays.set(rest.slice(0, -1).join(":"), Number(rest.at(-1)));
    } else if (
      (kind === "enospc" || kind === "eio") && (rest[0] === "write" || rest[0] === "fsync")
    ) {
      const pathContains = rest.slice(1).join(":") || undefined;
      faults.io.push({ op: rest[0], error: kind === "enospc" ? "ENOSPC" : "EIO", pathContains });
    } else {
      throw new NxError("usage.invalid_argument", `cannot parse NX_FAULT item \`${item}\``);
    }
  }
  return faults;
}

/** The hook the executor calls around each named point. */
export async function trigger(
  faults: Faults,
  when: "before" | "after",
  point: string,
): Promise<void> {
  if (when === "before") {
    const delay = faults.delays.get(point);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (faults.crashBefore.has(point)) Deno.kill(Deno.pid, "SIGKILL");
    if (faults.fail.has(point)) {
      throw new NxError("fault.injected", `cannot continue: fault injected at ${point}`);
    }
  } else if (faults.crashAfter.has(point)) {
    Deno.kill(Deno.pid, "SIGKILL");
  }
}
