/**
 * Fault triggers for tests, named after plan steps (`NX_FAULT`, comma-separated):
 *   fail:<step>          throw fault.injected before the step runs (undo then runs);
 *   fail:post:<kind>     that post-commit step fails (a warning: the change stands)
 *   crash:<step>         SIGKILL this process before the step (before its `begin` entry)
 *   crash-after:<step>   SIGKILL right after the step completed and was journaled
 *   crash:commit         SIGKILL after the commit mark, before post-commit steps
 *   crash:post:<kind>    SIGKILL before that post-commit step
 *   delay:<step>:<ms>    sleep before the step (widens windows for random-kill tests)
 *   stop:<step>          SIGSTOP this process before the step, until a SIGCONT (lets a test
 *                        change the world at that exact point: swap a bundle file, plant a link)
 *   enospc:write[:<s>]   writes to paths containing <s> fail with ENOSPC (also eio:, :fsync)
 */
import { NxError } from "../errors.ts";
import type { IoFault } from "../store/mod.ts";
import { POST_KINDS, STEP_KINDS } from "../plan/types.ts";

export interface Faults {
  fail: Set<string>;
  crashBefore: Set<string>;
  crashAfter: Set<string>;
  delays: Map<string, number>;
  stops: Set<string>;
  io: IoFault[];
}

export const NO_FAULTS: Faults = {
  fail: new Set(),
  crashBefore: new Set(),
  crashAfter: new Set(),
  delays: new Map(),
  stops: new Set(),
  io: [],
};

/** Every point a trigger may name: plan steps, the commit mark, and post-commit steps. */
const POINTS = new Set<string>([
  ...STEP_KINDS,
  "commit",
  ...POST_KINDS.map((k) => `post:${k}`),
]);

function point(item: string, name: string, allowCommit: boolean): string {
  if (!POINTS.has(name) || (!allowCommit && name === "commit")) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot parse NX_FAULT item \`${item}\`: no such point`,
      {
        hint: `points: ${[...POINTS].join(", ")}`,
      },
    );
  }
  return name;
}

export function parseFaults(spec: string | undefined): Faults {
  const faults: Faults = {
    fail: new Set(),
    crashBefore: new Set(),
    crashAfter: new Set(),
    delays: new Map(),
    stops: new Set(),
    io: [],
  };
  for (const item of (spec ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const [kind, ...rest] = item.split(":");
    const name = rest.join(":");
    // After the commit mark a failure cannot be undone, so `fail:commit` is not a thing.
    if (kind === "fail") faults.fail.add(point(item, name, false));
    else if (kind === "crash") faults.crashBefore.add(point(item, name, true));
    else if (kind === "stop") faults.stops.add(point(item, name, true));
    else if (kind === "crash-after" && !name.startsWith("post:")) {
      faults.crashAfter.add(point(item, name, false));
    } else if (kind === "delay" && rest.length >= 2 && /^\d+$/.test(rest.at(-1)!)) {
      faults.delays.set(point(item, rest.slice(0, -1).join(":"), true), Number(rest.at(-1)));
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
    if (faults.stops.has(point)) Deno.kill(Deno.pid, "SIGSTOP");
    if (faults.crashBefore.has(point)) Deno.kill(Deno.pid, "SIGKILL");
    if (faults.fail.has(point)) {
      throw new NxError("fault.injected", `cannot continue: fault injected at ${point}`);
    }
  } else if (faults.crashAfter.has(point)) {
    Deno.kill(Deno.pid, "SIGKILL");
  }
}
