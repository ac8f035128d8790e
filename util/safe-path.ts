/**
 * Path resolution scoped to a root directory, as if the root were `/` (Go's securejoin, BuildKit's fs.RootPath).
 *
 * Used wherever a path named by untrusted input (a Dockerfile, a build context, an image layer) is turned into a
 * host path: COPY/ADD sources and destinations, sandbox mountpoints, layer extraction.
 *
 * Race window: resolution walks the path with lstat/readlink and returns a host path; a component swapped for a
 * symlink between this walk and the caller's use could redirect the caller (CVE-2018-15664 style). That is
 * acceptable for tsbuild's callers because no container runs in a rootfs while tsbuild copies into it or resolves
 * mountpoints in it (a RUN's sandbox is torn down before the next step touches its snapshot), and build contexts
 * are read by tsbuild alone. Callers that create the final component still do so without following it
 * (`lstat` + rename over, `O_NOFOLLOW`), which closes the window for the last component.
 */
import { lstat, readlink } from 'node:fs/promises';
import * as path from 'node:path';
import { TsbuildError } from './errors.ts';

/** Linux's own limit on symlinks followed during one path lookup (MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/** Options for `resolveInRoot`. */
export interface ResolveOptions {
  /**
   * Whether a symlink in the final component is followed (true: the path names what the link points to, like
   * stat; false: the path names the link itself, like lstat). Symlinks in earlier components are always followed.
   */
  readonly followFinal: boolean;
}

/**
 * Resolves `p` (absolute or relative; both are taken relative to `root`) inside `root`, component by component:
 * an absolute symlink target restarts at `root`, `..` never climbs above `root`, and at most 40 symlinks are
 * followed (else TsbuildError `path/too-many-links`). Components that do not exist are appended lexically, so the
 * result names where a new file would be created. The result is an absolute host path that equals `root` or lies
 * under it; `root` itself is made absolute but its own symlinks (if any) are trusted.
 */
export async function resolveInRoot(root: string, p: string, opts: ResolveOptions): Promise<string> {
  const absRoot = path.resolve(root);
  const resolved: string[] = [];
  const pending = splitComponents(p);
  let hops = 0;
  let missing = false;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === '..') {
      resolved.pop();
      continue;
    }
    if (missing) {
      // Below a missing component nothing can be a symlink: resolve the rest lexically.
      resolved.push(comp);
      continue;
    }
    const candidate = path.join(absRoot, ...resolved, comp);
    let isLink = false;
    try {
      const st = await lstat(candidate);
      isLink = st.isSymbolicLink();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      missing = true;
    }
    const isFinal = pending.length === 0;
    if (isLink && (!isFinal || opts.followFinal)) {
      if (++hops > MAX_SYMLINK_HOPS) {
        throw new TsbuildError('path/too-many-links', `too many levels of symbolic links resolving ${JSON.stringify(p)} in ${absRoot}`);
      }
      const target = await readlink(candidate);
      if (target.startsWith('/')) resolved.length = 0;
      pending.unshift(...splitComponents(target));
      continue;
    }
    resolved.push(comp);
  }
  return resolved.length === 0 ? absRoot : path.join(absRoot, ...resolved);
}

function splitComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Go's `path.Clean` for `/`-separated paths: collapses `//`, removes `.`, resolves `..` lexically (never above `/`
 * for rooted paths), drops the trailing slash; the empty path becomes `.`.
 */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(c);
  }
  const s = out.join('/');
  if (rooted) return '/' + s;
  return s === '' ? '.' : s;
}

/** True when host path `p` equals `root` or lies beneath it (lexically; both made absolute first). */
export function isWithin(root: string, p: string): boolean {
  const r = path.resolve(root);
  const q = path.resolve(p);
  return q === r || q.startsWith(r.endsWith('/') ? r : r + '/');
}

/** The `/`-separated path of `p` relative to `root` (`''` for the root itself); throws if `p` is outside. */
export function relativeInRoot(root: string, p: string): string {
  if (!isWithin(root, p)) throw new Error(`bug: ${p} is not inside ${root}`);
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel;
}
