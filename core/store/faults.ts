/**
 * I/O fault injection for tests (NX_FAULT=enospc:write, eio:fsync …, parsed in core/apply).
 * Only ever makes operations fail; set once at start-up by the CLI.
 */
export interface IoFault {
  op: "write" | "fsync";
  error: "ENOSPC" | "EIO";
  /** Only paths containing this substring (default: every path). */
  pathContains?: string;
}

let active: IoFault[] = [];

export function setIoFaults(faults: IoFault[]): void {
  active = faults;
}

export function checkIoFault(op: IoFault["op"], path: string): void {
  const hit = active.find((f) => f.op === op && (!f.pathContains || path.includes(f.pathContains)));
  if (!hit) return;
  throw new Error(
    hit.error === "ENOSPC"
      ? `No space left on device (os error 28) [injected]`
      : `Input/output error (os error 5) [injected]`,
  );
}
