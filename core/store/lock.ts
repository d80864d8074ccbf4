/**
 * One writer per root: an flock(2) on `pkg/lock`, taken without waiting. The kernel drops the
 * lock when its holder dies (even by SIGKILL), so a lock file left behind is stale by
 * definition: the next writer takes it and reports the stale holder it replaced.
 */
import { NxError } from "../errors.ts";
import { ioError, mkdirp } from "./fs.ts";
import type { RootPaths } from "./root.ts";

export interface RootLock {
  /** The pid recorded by a previous holder that died without releasing (stale lock), if any. */
  staleHolder?: number;
  release(): void;
}

function holderOf(text: string): number | undefined {
  const pid = Number(/^pid=(\d+)/m.exec(text)?.[1]);
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

export async function acquireLock(paths: RootPaths, op: string): Promise<RootLock> {
  await mkdirp(paths.pkg);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(paths.lock, { read: true, write: true, create: true });
  } catch (e) {
    throw ioError("open lock", paths.lock, e);
  }
  const previous = holderOf(
    new TextDecoder().decode(await Deno.readFile(paths.lock).catch(() => new Uint8Array())),
  );
  if (!(await file.tryLock(true))) {
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
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`pid=${Deno.pid}\nop=${op}\n`));
  return {
    staleHolder: previous !== undefined && previous !== Deno.pid ? previous : undefined,
    release() {
      try {
        file.truncateSync(0);
        file.unlockSync();
      } finally {
        file.close();
      }
    },
  };
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
