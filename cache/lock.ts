/**
 * Inter-process locks for the store (Node has no flock).
 *
 * A lock is a file created with O_CREAT|O_EXCL (atomic on local filesystems) holding its owner's identity:
 * host, pid and the process start time from /proc/<pid>/stat (so a recycled pid is not mistaken for the owner).
 * A waiter polls with backoff. A lock whose owner is on this host and no longer alive is stale; a waiter breaks
 * it by renaming it to a unique name and checking, by inode, that what it moved is the very file it judged stale.
 * If it moved a fresh lock instead (another waiter broke the stale one and re-acquired in between), it links
 * that file back. Owners killed by SIGKILL therefore never block the store for longer than one poll.
 */
import { open, readFile, rename, unlink, link, stat, mkdir } from 'node:fs/promises';
import { readFileSync, unlinkSync, constants as C } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsbuildError } from '../util/errors.ts';

/** Identity of the process that holds a lock. `start` is the kernel start time in clock ticks since boot. */
export interface LockOwner {
  readonly host: string;
  readonly pid: number;
  readonly start: number;
  /** Milliseconds since the epoch. */
  readonly since: number;
  readonly purpose?: string;
}

/** Releases a held lock; calling it twice is harmless. */
export type Release = () => Promise<void>;

export interface LockOptions {
  /** Give up after this many milliseconds (default: wait forever). */
  readonly timeoutMs?: number;
  /** Aborts the wait. */
  readonly signal?: AbortSignal;
  /** Free text stored in the lock file for `fsck`/debugging. */
  readonly purpose?: string;
  /** Called once when the lock is found held by someone else (e.g. to print "waiting for ..."). */
  readonly onWait?: (owner: LockOwner | undefined) => void;
}

/** Start time (field 22 of /proc/<pid>/stat) or undefined if the process does not exist. */
export function processStartTime(pid: number): number | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[22 - 3]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

let selfStart: number | undefined;
export function selfOwner(purpose?: string): LockOwner {
  selfStart ??= processStartTime(process.pid) ?? 0;
  return { host: hostname(), pid: process.pid, start: selfStart, since: Date.now(), ...(purpose ? { purpose } : {}) };
}

/** True if `owner` is a live process on this host; owners on other hosts are presumed alive. */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  const st = processStartTime(owner.pid);
  return st !== undefined && (owner.start === 0 || st === owner.start);
}

/** Maps a lock name to a safe file name (names may be cache keys or image names). */
export function lockFileName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
  return `${safe}.${createHash('sha256').update(name).digest('hex').slice(0, 16)}.lock`;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Acquires the lock `name` in `dir` (created if needed). Resolves to a release function once held.
 * Fails with `store/lock-timeout` after `timeoutMs`.
 */
export async function acquireLock(dir: string, name: string, opts: LockOptions = {}): Promise<Release> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, lockFileName(name));
  const me = selfOwner(opts.purpose);
  const body = JSON.stringify({ ...me, name });
  const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
  let delay = 2;
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await open(file, C.O_WRONLY | C.O_CREAT | C.O_EXCL, 0o644);
      try {
        await fh.writeFile(body);
      } finally {
        await fh.close();
      }
      const ino = (await stat(file)).ino;
      let released = false;
      const release: Release = async () => {
        if (released) return;
        released = true;
        // Only remove the file if it is still ours (it is, unless someone wrongly broke it).
        try {
          if ((await stat(file)).ino === ino) await unlink(file);
        } catch {
          /* gone already */
        }
      };
      exitRelease.add(file);
      const wrapped: Release = async () => {
        exitRelease.delete(file);
        await release();
      };
      return wrapped;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Held: find out by whom, break it if the owner is dead.
    let owner: LockOwner | undefined;
    let ino: number | undefined;
    try {
      ino = (await stat(file)).ino;
      owner = parseOwner(await readFile(file, 'utf8'));
    } catch {
      continue; // vanished between open and stat: retry at once
    }
    if (owner === undefined) {
      // Being written right now (created but not yet filled), or garbage left by a crash between create and write.
      // Treat as stale only once it has stayed empty for a while.
      const age = Date.now() - (await stat(file).then((s) => s.mtimeMs).catch(() => Date.now()));
      if (age > 5_000) await breakStale(file, ino);
    } else if (!ownerAlive(owner)) {
      await breakStale(file, ino);
      continue;
    }
    if (!told) {
      told = true;
      opts.onWait?.(owner);
    }
    if (Date.now() >= deadline) {
      throw new TsbuildError('store/lock-timeout', `timed out waiting for lock "${name}"${owner ? ` held by pid ${owner.pid}` : ''}`);
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())), undefined, opts.signal ? { signal: opts.signal } : undefined);
    delay = Math.min(delay * 2, 100);
  }
}

async function breakStale(file: string, staleIno: number): Promise<void> {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch {
    return; // someone else broke it first
  }
  const moved = await stat(aside).catch(() => undefined);
  if (moved && moved.ino !== staleIno) {
    // We moved a live lock acquired after our check: put it back (fails only if a third process took it since).
    await link(aside, file).catch(() => {});
  }
  await unlink(aside).catch(() => {});
}

/** Locks still held when the process exits normally are removed (SIGKILL is covered by the staleness check). */
const exitRelease = new Set<string>();
process.once('exit', () => {
  for (const f of exitRelease) {
    try {
      unlinkSync(f);
    } catch {
      /* ignore */
    }
  }
});
