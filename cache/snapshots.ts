/**
 * Snapshots: unpacked layer trees used as overlay lowerdirs, at `snapshots/<h>/fs` with `snapshots/<h>/meta.json`
 * (h = first 32 hex of sha256(id), short enough that many lowerdirs fit in one overlay mount option string).
 *
 * A snapshot is built in a temp dir under ingest/ and committed by one rename of the whole directory, with the
 * marker (meta.json) written and the tree synced before the rename: `snapshots/<h>` exists only complete.
 * A directory there without a readable marker (a manual copy, a bug) is never returned and fsck reports it.
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { TsbuildError } from '../util/errors.ts';
import { writeFileAtomic, fsyncDir } from './atomic.ts';
import { ingestName, type StorePaths } from './blobs.ts';
import type { SnapshotMeta } from './types.ts';

/**
 * Runs a command, child_process loaded on first use: only a big snapshot commit spawns, and node:child_process
 * (with net, dgram and streams behind it) is ~5 ms of the start-up of every build that never does.
 */
async function run(cmd: string, args: readonly string[]): Promise<void> {
  const [{ execFile }, { promisify }] = await Promise.all([import('node:child_process'), import('node:util')]);
  await promisify(execFile)(cmd, args);
}

/** A snapshot under construction. Write into `dir`, then `commit()` (returns the final dir) or `abort()`. */
export interface PreparedSnapshot {
  readonly id: string;
  /** An empty directory on the store's filesystem. */
  readonly dir: string;
  /**
   * Makes the snapshot visible under its id and returns its final directory. If another process committed the
   * same id first, this one is discarded and the existing directory is returned (same id ⇒ same content).
   */
  commit(info?: Readonly<Record<string, unknown>>): Promise<string>;
  abort(): Promise<void>;
}

export function snapshotDirName(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 32);
}

export class SnapshotStore {
  readonly #paths: StorePaths;

  constructor(paths: StorePaths) {
    this.#paths = paths;
  }

  /** The committed tree for `id`, or undefined. Marks it used (for LRU GC). */
  async get(id: string): Promise<string | undefined> {
    const base = join(this.#paths.snapshots, snapshotDirName(id));
    const meta = await readMeta(base);
    if (!meta || meta.id !== id) return undefined;
    const now = new Date();
    await utimes(join(base, 'meta.json'), now, now).catch(() => {});
    return join(base, 'fs');
  }

  async has(id: string): Promise<boolean> {
    const meta = await readMeta(join(this.#paths.snapshots, snapshotDirName(id)));
    return meta?.id === id;
  }

  async meta(id: string): Promise<SnapshotMeta | undefined> {
    const meta = await readMeta(join(this.#paths.snapshots, snapshotDirName(id)));
    return meta?.id === id ? meta : undefined;
  }

  async prepare(id: string): Promise<PreparedSnapshot> {
    if (id === '') throw new TsbuildError('store/invalid-snapshot-id', 'empty snapshot id');
    const work = ingestName(this.#paths, 'snap');
    const dir = join(work, 'fs');
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const paths = this.#paths;
    let done = false;
    return {
      id,
      dir,
      async commit(info) {
        if (done) throw new Error('snapshot already committed or aborted');
        done = true;
        const { size, paths: entries } = await treeScan(dir, SMALL_TREE);
        // Flush the tree so that a power loss after the rename cannot leave a marker over holes: a small tree (a
        // typical RUN step's few files) by fsyncing each entry, a big one by one syncfs (`sync -f`), which costs a
        // process spawn per step but beats thousands of fsyncs.
        if (entries !== undefined) await Promise.all([dir, ...entries].map(fsyncPath));
        else await run('sync', ['-f', work]).catch(() => {});
        const meta: SnapshotMeta = { version: 1, id, createdAt: new Date().toISOString(), size, ...(info ? { info } : {}) };
        await writeFileAtomic(join(work, 'meta.json'), JSON.stringify(meta));
        const final = join(paths.snapshots, snapshotDirName(id));
        try {
          await rename(work, final);
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') {
            await rm(work, { recursive: true, force: true });
            throw e;
          }
          await rm(work, { recursive: true, force: true });
          const existing = await readMeta(final);
          if (existing?.id !== id) throw new TsbuildError('store/snapshot-conflict', `snapshot directory ${final} exists but is not a valid snapshot of ${id}; run "tsbuild fsck"`);
          return join(final, 'fs');
        }
        await fsyncDir(paths.snapshots);
        return join(final, 'fs');
      },
      async abort() {
        if (done) return;
        done = true;
        await rm(work, { recursive: true, force: true });
      },
    };
  }

  /** Every committed snapshot with its marker and last-use time (marker mtime, ms). */
  async list(): Promise<Array<SnapshotMeta & { dir: string; lastUsedMs: number }>> {
    const out: Array<SnapshotMeta & { dir: string; lastUsedMs: number }> = [];
    for (const name of await readdir(this.#paths.snapshots).catch(() => [] as string[])) {
      const base = join(this.#paths.snapshots, name);
      const meta = await readMeta(base);
      if (!meta) continue;
      const st = await lstat(join(base, 'meta.json')).catch(() => undefined);
      out.push({ ...meta, dir: join(base, 'fs'), lastUsedMs: st?.mtimeMs ?? 0 });
    }
    return out;
  }

  /**
   * Removes a snapshot: first renamed out of snapshots/ (atomic: no one can pick it up half-deleted), then deleted.
   */
  async remove(id: string): Promise<void> {
    await removeSnapshotDir(this.#paths, snapshotDirName(id));
  }
}

export async function removeSnapshotDir(paths: StorePaths, name: string): Promise<void> {
  const trash = ingestName(paths, 'trash');
  try {
    await rename(join(paths.snapshots, name), trash);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await rm(trash, { recursive: true, force: true });
}

export async function readMeta(base: string): Promise<SnapshotMeta | undefined> {
  try {
    const m = JSON.parse(await readFile(join(base, 'meta.json'), 'utf8')) as SnapshotMeta;
    return m.version === 1 && typeof m.id === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Trees with at most this many entries are flushed file by file on commit. */
const SMALL_TREE = 64;

/**
 * One walk for commit: the apparent size of regular files (bytes) and, when there are at most `limit` entries,
 * the regular files and directories below `dir` (for fsync); `paths` is undefined for a bigger tree.
 */
async function treeScan(dir: string, limit: number): Promise<{ size: number; paths: string[] | undefined }> {
  let size = 0;
  // A negative limit: the size only, no path list.
  let paths: string[] | undefined = limit < 0 ? undefined : [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let ents;
    try {
      ents = await readdir(d, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of ents) {
      const p = join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) size += (await lstat(p)).size;
      if (paths !== undefined && (e.isDirectory() || e.isFile())) {
        paths.push(p);
        if (paths.length > limit) paths = undefined;
      }
    }
  }
  return { size, paths };
}

/** fsync a regular file or directory without following a symlink (O_NOFOLLOW). */
async function fsyncPath(p: string): Promise<void> {
  const fh = await open(p, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Apparent size of regular files under `dir`, bytes (no symlinks followed). */
export async function treeSize(dir: string): Promise<number> {
  return (await treeScan(dir, -1)).size;
}
