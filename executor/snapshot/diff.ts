/**
 * The copy snapshotter's differ: what a step changed, found by walking the tree before the step and the tree after it
 * side by side (BuildKit's "double-walking differ" for snapshotters without an upperdir), written out as an
 * overlayfs-style upperdir so that everything after it (empty-change check, layer writer, layer snapshot) is the same
 * code as with overlay:
 *   - an added or changed non-directory is copied in, with every directory above it (as overlay's copy-up);
 *   - an added directory is copied in whole; an existing directory whose metadata changed is copied in alone;
 *   - a deleted path becomes a whiteout (character device 0/0).
 * "Changed" is BuildKit's rule: type, mode, owner, size, mtime (nanoseconds), link target or device number differ;
 * a regular file whose size and mtime match is compared byte for byte only when its mtime has no sub-second part
 * (a filesystem or tool that truncates times could hide a change).
 *
 * Copying goes through one GNU tar pipe (bash, for pipefail) (POSIX format: owners, modes, nanosecond times, hard links within the step,
 * xattrs), fed the exact list of paths with --no-recursion; paths come from directory listings of `after`, so none
 * can climb out of `upper`.
 */
import { spawn } from 'node:child_process';
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';

/** What the walk found; paths are relative, `/`-separated. */
export interface TreeChanges {
  /** Entries to copy into the upperdir (directories without their children), parents before children. */
  readonly copy: readonly string[];
  /** Paths that existed before and are gone. */
  readonly deleted: readonly string[];
}

const CHUNK = 64 * 1024;

async function sameContent(a: string, b: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK), fb.read(bb, 0, CHUNK)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

const typeBits = (st: BigIntStats): bigint => st.mode & 0o170000n;

function sameMeta(a: BigIntStats, b: BigIntStats): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.mtimeNs === b.mtimeNs && (a.isDirectory() || a.size === b.size) && a.rdev === b.rdev;
}

/** Walks `before` and `after` together and lists what changed. */
export async function treeChanges(before: string, after: string): Promise<TreeChanges> {
  const copy: string[] = [];
  const deleted: string[] = [];
  /** Directories already listed in `copy` (an ancestor is listed once, before its first changed descendant). */
  const listed = new Set<string>();
  const addWithParents = (rel: string): void => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!listed.has(dir)) {
        listed.add(dir);
        copy.push(dir);
      }
    }
    if (!listed.has(rel)) {
      listed.add(rel);
      copy.push(rel);
    }
  };
  const addTree = async (rel: string): Promise<void> => {
    addWithParents(rel);
    const st = await lstat(path.join(after, rel));
    if (!st.isDirectory()) return;
    for (const name of (await readdir(path.join(after, rel))).sort()) await addTree(`${rel}/${name}`);
  };

  const walk = async (rel: string): Promise<void> => {
    const a = path.join(after, rel);
    const b = path.join(before, rel);
    const [namesA, namesB] = await Promise.all([readdir(a), readdir(b)]);
    const inA = new Set(namesA);
    for (const name of namesB.sort()) if (!inA.has(name)) deleted.push(rel ? `${rel}/${name}` : name);
    for (const name of namesA.sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const stA = await lstat(path.join(a, name), { bigint: true });
      const stB = await lstat(path.join(b, name), { bigint: true }).catch(() => undefined);
      if (stB === undefined || typeBits(stA) !== typeBits(stB)) {
        await addTree(childRel);
        continue;
      }
      if (stA.isDirectory()) {
        if (!sameMeta(stA, stB)) addWithParents(childRel);
        await walk(childRel);
        continue;
      }
      let changed = !sameMeta(stA, stB);
      if (!changed && stA.isSymbolicLink()) changed = (await readlink(path.join(a, name))) !== (await readlink(path.join(b, name)));
      if (!changed && stA.isFile() && stA.mtimeNs % 1_000_000_000n === 0n) changed = !(await sameContent(path.join(a, name), path.join(b, name)));
      if (changed) addWithParents(childRel);
    }
  };
  await walk('');
  return { copy, deleted };
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; input?: Buffer } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [opts.input ? 'pipe' : 'ignore', 'ignore', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d.toString();
    });
    p.on('error', (e) => reject(new TsbuildError('snapshot/diff-failed', `cannot run ${cmd}: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new TsbuildError('snapshot/diff-failed', `${cmd} failed (exit ${code}): ${err.trim()}`))));
    if (opts.input) p.stdin!.end(opts.input);
  });
}

/**
 * POSIX format keeps nanosecond times and xattrs (capabilities, user.*); owners stay numeric. `trusted.*` stays out:
 * the copies carry lower layers' `trusted.overlay.opaque` markers, already applied, which must not reach the layer.
 */
const TAR_ARGS = "--format=posix --numeric-owner --xattrs '--xattrs-include=*' '--xattrs-exclude=trusted.*'";

/** Copies `paths` (relative, each without its children) from `from` into `to` through one tar pipe. */
async function copyEntries(from: string, to: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const list = Buffer.from(paths.map((p) => `./${p}\0`).join(''));
  await run('bash', ['-c', `set -o pipefail; tar -C "$1" ${TAR_ARGS} --no-recursion --null -T - -cf - | tar -C "$2" ${TAR_ARGS} --same-owner -p -xf -`, 'sh', from, to], { input: list });
}

const exists = (p: string): Promise<boolean> => lstat(p).then(() => true, () => false);

/**
 * Writes what changed from `before` to `after` into `upper` (an empty directory) as an overlay upperdir.
 * Returns the changes it wrote.
 */
export async function diffToUpper(before: string, after: string, upper: string): Promise<TreeChanges> {
  const changes = await treeChanges(before, after);
  await copyEntries(after, upper, changes.copy);
  if (changes.deleted.length > 0) {
    // Parents of a deleted path exist in `upper` only when something else changed there: make the missing ones, with
    // their ancestors, parents first (as copy-ups of the directories in `after`) before the whiteout devices go in.
    const ancestors = new Set<string>();
    for (const d of changes.deleted) {
      const parts = d.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) ancestors.add(parts.slice(0, i).join('/'));
    }
    const ordered = [...ancestors].sort((x, y) => x.split('/').length - y.split('/').length);
    const missing: string[] = [];
    for (const d of ordered) if (!(await exists(path.join(upper, d)))) missing.push(d);
    await copyEntries(after, upper, missing);
    // mknod for every deleted path, in batches through one shell each (no ARG_MAX trouble, few processes).
    for (let i = 0; i < changes.deleted.length; i += 512) {
      const batch = changes.deleted.slice(i, i + 512);
      await run('sh', ['-c', 'cd "$1" && shift && for p; do mknod -- "$p" c 0 0 || exit 1; done', 'sh', upper, ...batch.map((p) => `./${p}`)]);
    }
  }
  return changes;
}
