/**
 * I/O fault injection for tests (NX_FAULT=enospc:write, eio:fsync …, parsed in core/apply).
 * Only ever makes operations fail. There is no process-wide setting: a caller runs an operation
 * inside {@link withIoFaults}, and the faults hold for that operation's own asynchronous calls
 * (an AsyncLocalStorage scope), so two operations in one process — two calls to a long-lived
 * agent — never see each other's faults. The scope itself (node:async_hooks, ~10 ms to load) is
 * created the first time an operation has faults: a run without NX_FAULT never loads it.
 */
import type { AsyncLocalStorage } from "node:async_hooks";

export interface IoFault {
  op: "write" | "fsync";
  error: "ENOSPC" | "EIO";
  /** Only paths containing this substring (default: every path). */
  pathContains?: string;
}

/** The scope mechanism, not a setting: each operation's faults live in its own run of it. */
let scope: AsyncLocalStorage<readonly IoFault[]> | undefined;

/** Runs `body` with `faults` in force for everything it awaits (and nothing else). */
export async function withIoFaults<T>(
  faults: readonly IoFault[],
  body: () => Promise<T>,
): Promise<T> {
  if (faults.length === 0 && scope === undefined) return await body();
  if (scope === undefined) {
    const { AsyncLocalStorage } = await import("node:async_hooks");
    scope ??= new AsyncLocalStorage();
  }
  return await scope.run(faults, body);
}

export function checkIoFault(op: IoFault["op"], path: string): void {
  const hit = scope?.getStore()?.find((f) =>
    f.op === op && (!f.pathContains || path.includes(f.pathContains))
  );
  if (!hit) return;
  throw new Error(
    hit.error === "ENOSPC"
      ? `No space left on device (os error 28) [injected]`
      : `Input/output error (os error 5) [injected]`,
  );
}
