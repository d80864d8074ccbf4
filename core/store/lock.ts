/**
 * One writer per root: an flock(2) on `pkg/lock`, taken without waiting. The kernel drops the
 * lock when its holder dies (even by SIGKILL), so a lock file left behind is stale by
 * definition: the next writer takes it and reports the stale holder it replaced.
 */
import { NxError } from "../errors.ts";
import { atParent, unsafeEntry } from "./anchored.ts";
import { ioError, mkdirp, removeTempsOf } from "./fs.ts";
import { type FileHandle, isErrno } from "./handles.ts";
import type { RootPaths } from "./root.ts";

export interface RootLock {
  /** The pid recorded by a previous holder that died without releasing (stale lock), if any. */
  staleHolder?: number;
  release(): void;
}

const EMPTY_LOCK_RETRIES = 10;
const EMPTY_LOCK_PAUSE_MS = 20;

function holderOf(text: string): number | undefined {
  const pid = Number(/^pid=(\d+)/m.exec(text)?.[1]);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

export async function acquireLock(paths: RootPaths, op: string): Promise<RootLock> {
  await mkdirp(paths.pkg);
  // trust: opened without following a link (a planted `pkg/lock` link is never truncated)
  let file: FileHandle;
  let previous: number | undefined;
  let locked: boolean;
  try {
    file = atParent(paths.lock, (dir, name) => dir.openFile(name, { write: true, create: 0o644 }));
    try {
      if (file.stat().type !== "file") throw unsafeEntry(paths.lock);
      previous = holderOf(new TextDecoder().decode(readSmall(file)));
      locked = file.tryLock();
    } catch (e) {
      file.close();
      throw e;
    }
  } catch (e) {
    if (isErrno(e, "ELOOP")) throw unsafeEntry(paths.lock, e);
    throw ioError("open lock", paths.lock, e);
  }
  // Locked but empty: a holder between its flock and its pid line, or one that released the lock
  // while a spawn of its process, forked but not yet exec'd, still shared the descriptor (the
  // flock belongs to the open file, which the fork shares until its exec closes it). Both pass in
  // moments; a holder at work has its pid written, and is refused at once.
  for (let i = 0; !locked && previous === undefined && i < EMPTY_LOCK_RETRIES; i++) {
    await new Promise((r) => setTimeout(r, EMPTY_LOCK_PAUSE_MS));
    locked = file.tryLock();
  }
  if (!locked) {
    file.close();
    throw new NxError(
      "lock.busy",
      `cannot lock ${paths.root}: another nx process (pid ${previous ?? "?"}) is changing it`,
      {
        details: { holder: previous ?? null },
        hint: "wait for it to finish; a crashed holder releases the lock automatically",
      },
    );
  }
  try {
    file.truncate(0);
    file.writeAll(new TextEncoder().encode(`pid=${Deno.pid}\nop=${op}\n`));
  } catch (e) {
    file.close();
    throw ioError("write lock", paths.lock, e);
  }
  const staleHolder = previous !== undefined && previous !== Deno.pid ? previous : undefined;
  // A holder killed mid-write (policy, publishers, root.json, the registry stamp) left its temp
  // file behind; the rename it never made is all that is lost, so the temp goes.
  if (staleHolder !== undefined) {
    try {
      await removeTempsOf(paths.pkg, staleHolder);
    } catch (e) {
      file.close();
      throw e;
    }
  }
  return {
    staleHolder,
    release() {
      try {
        file.truncate(0);
      } finally {
        file.close(); // closing the descriptor drops the flock
      }
    },
  };
}

/** The holder line is tiny; read at most 256 bytes of it. */
function readSmall(file: FileHandle): Uint8Array {
  const buf = new Uint8Array(256);
  const n = file.read(buf);
  return buf.subarray(0, n);
}

/** Read-only commands: take the lock when free (to run recovery), never wait for it. */
export async function tryAcquireLock(paths: RootPaths, op: string): Promise<RootLock | undefined> {
  try {
    return await acquireLock(paths, op);
  } catch (e) {
    if (e instanceof NxError && e.code === "lock.busy") return undefined;
    throw e;
  }
}

/** Runs `body` holding the root's writer lock (policy edits, lifecycle operations). */
export async function withRootLock<T>(
  paths: RootPaths,
  op: string,
  body: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock(paths, op);
  try {
    return await body();
  } finally {
    lock.release();
  }
}
