/**
 * Path resolution inside a root directory, as if the root were `/` (like Go's securejoin / BuildKit's fs.RootPath).
 *
 * Every component is lstat-ed; a symlink is followed by splicing its target into the remaining path, an absolute
 * target restarts at the root, and `..` never climbs above the root. The result is a host path that lies inside
 * `root` lexically.
 *
 * Race window: the check and the later use are separate syscalls, so a process that can write the tree while we
 * resolve could swap a component for a symlink in between (CVE-2018-15664). The sandbox only resolves paths in a
 * rootfs when no container is running in it (before `runc run` and after it exited), which closes that window here.
 */
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';

/** Maximum symlinks followed in one resolution, as Linux's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** Splits an absolute or relative container path into clean components (no `.`, no empty parts). */
function components(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `containerPath` inside `root`. Components that do not exist are appended lexically (`..` still clamped).
 * With `followFinal: false` a symlink in the last component is not followed (for lstat-like uses and unlinking).
 * @returns an absolute host path equal to `root` or below it.
 */
export async function resolveInRoot(root: string, containerPath: string, opts: { followFinal: boolean }): Promise<string> {
  const rootAbs = path.resolve(root);
  let pending = components(containerPath);
  const done: string[] = [];
  let links = 0;
  let missing = false;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const candidate = path.join(rootAbs, ...done, c);
    if (missing) {
      done.push(c);
      continue;
    }
    let st;
    try {
      st = await lstat(candidate);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        missing = true;
        done.push(c);
        continue;
      }
      throw e;
    }
    if (st.isSymbolicLink() && (pending.length > 0 || opts.followFinal)) {
      if (++links > MAX_LINKS) {
        throw new TsbuildError('sandbox/too-many-symlinks', `too many levels of symbolic links resolving ${containerPath} in ${root}`);
      }
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      pending = [...components(target), ...pending];
      continue;
    }
    done.push(c);
  }
  return path.join(rootAbs, ...done);
}

/**
 * The host paths that would have to be created to make `containerPath` exist in `root` (outermost first), after
 * resolving symlinks in its existing prefix. Empty when it exists already.
 */
export async function missingPaths(root: string, containerPath: string): Promise<string[]> {
  const resolved = await resolveInRoot(root, containerPath, { followFinal: true });
  const rootAbs = path.resolve(root);
  const rel = path.relative(rootAbs, resolved);
  const out: string[] = [];
  let cur = rootAbs;
  for (const c of components(rel)) {
    cur = path.join(cur, c);
    try {
      await lstat(cur);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      out.push(cur);
    }
  }
  return out;
}

/** True when `child` is `root` or lexically below it. */
export function isWithin(root: string, child: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(child));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
