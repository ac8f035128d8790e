/**
 * A cross-process exclusive lock on a path, for `sharing=locked` and `sharing=private` cache mounts.
 *
 * Node has no flock(2), so the lock is a directory created with mkdir (atomic: exactly one creator wins) holding an
 * `owner` file with the holder's pid. A lock whose owner process no longer exists is stale (the holder was
 * SIGKILLed) and is broken by the next taker. Same-process waiters are queued in memory first so they do not poll.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TsbuildError } from '../../util/errors.ts';

/** A held lock. `release` is idempotent. */
export interface Lock {
  release(): Promise<void>;
}

const POLL_MS = 50;
const localWaiters = new Map<string, Promise<void>>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the lock if its owner is dead; true when it did. */
async function breakIfStale(lockDir: string): Promise<boolean> {
  const owner = await readFile(`${lockDir}/owner`, 'utf8').catch(() => undefined);
  // No owner file yet: the holder is between mkdir and writeFile; treat as held.
  if (owner === undefined) return false;
  const pid = Number(owner.trim());
  if (!Number.isInteger(pid) || pid <= 0 || alive(pid)) return false;
  // Rename first so two breakers cannot both delete a lock a third process just took.
  const grave = `${lockDir}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockDir, grave);
  } catch {
    return false;
  }
  await rm(grave, { recursive: true, force: true });
  return true;
}

async function tryMkdirLock(lockDir: string, retry = true): Promise<Lock | undefined> {
  try {
    await mkdir(lockDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (retry && (await breakIfStale(lockDir))) return tryMkdirLock(lockDir, false);
    return undefined;
  }
  await writeFile(`${lockDir}/owner`, `${process.pid}\n`);
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rm(lockDir, { recursive: true, force: true });
    },
  };
}

/** Takes the lock if it is free right now (breaking a stale one); undefined when someone else holds it. */
export async function tryAcquireLock(lockDir: string): Promise<Lock | undefined> {
  if (localWaiters.has(lockDir)) return undefined;
  const lock = await tryMkdirLock(lockDir);
  if (lock === undefined) return undefined;
  return track(lockDir, lock);
}

function track(lockDir: string, lock: Lock): Lock {
  let resolveHeld!: () => void;
  const held = new Promise<void>((r) => (resolveHeld = r));
  localWaiters.set(lockDir, held);
  return {
    async release() {
      await lock.release();
      if (localWaiters.get(lockDir) === held) localWaiters.delete(lockDir);
      resolveHeld();
    },
  };
}

/** Waits for the lock. Rejects with TsbuildError `run-mounts/lock-aborted` if `signal` aborts first. */
export async function acquireLock(lockDir: string, signal?: AbortSignal): Promise<Lock> {
  for (;;) {
    if (signal?.aborted) throw new TsbuildError('run-mounts/lock-aborted', `gave up waiting for ${lockDir}`);
    const local = localWaiters.get(lockDir);
    if (local !== undefined) {
      await local;
      continue;
    }
    const lock = await tryMkdirLock(lockDir);
    if (lock !== undefined) return track(lockDir, lock);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
