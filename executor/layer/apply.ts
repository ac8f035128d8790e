/**
 * Applying a layer blob to a directory, either as an overlayfs lowerdir (whiteouts kept as overlay markers) or as a
 * plain tree (whiteouts delete).
 *
 * Security (CVE-2014-6407/9356, CVE-2018-15664): entry names are cleaned and any that climb above the root are
 * rejected; absolute names are taken relative to the root. Parent directories are resolved one component at a
 * time inside `dest`: a symlink met on the way is followed *within* dest (an absolute target restarts at dest, `..`
 * stops at dest), so `link -> /etc` then `link/passwd` writes dest/etc/passwd. The final component is never followed:
 * whatever is there is removed and the new entry created with O_CREAT|O_EXCL|O_NOFOLLOW, symlink(2), link(2) or
 * mknod. Hardlink targets are resolved the same way and must exist inside dest.
 * Residual risk: Node has no openat(2), so a process *concurrently* swapping directories inside dest during an apply
 * could race the per-component checks. Nothing else writes to a snapshot while it is being created.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import {
  chmod,
  chown,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rm,
  symlink,
  utimes,
} from 'node:fs/promises';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { asDigest, type Digest } from '../../util/digest.ts';
import { TsbuildError } from '../../util/errors.ts';
import { compressionOfMediaType, createDecompressor, sniffCompression, unknownMediaType } from './compression.ts';
import { readTar, type TarHeader } from './tar-format.ts';
import { OPAQUE_MARKER, WHITEOUT_PREFIX } from './walk.ts';
import { OVERLAY_OPAQUE, XattrBatch } from './xattr.ts';

export interface ApplyLayerOptions {
  /** The layer blob: a stream or a file path. Compressed or not (detected from magic bytes; see `mediaType`). */
  readonly blob: Readable | string;
  /** The descriptor's media type (OCI or Docker layer types); a non-layer media type is rejected. */
  readonly mediaType: string;
  /**
   * Target directory. `overlay`: must be absent or empty; on failure it is removed again. `plain`: may already hold
   * lower layers (stacking for export); on failure it is left as is for the caller to discard.
   */
  readonly dest: string;
  /** `overlay`: produce an overlayfs lowerdir (char 0/0 whiteouts, opaque xattrs). `plain`: whiteouts delete. */
  readonly mode: 'overlay' | 'plain';
}

export interface ApplyLayerResult {
  /** sha256 of the uncompressed tar (compare with the config's diff_id). */
  readonly diffId: Digest;
  /** Number of tar entries applied (whiteouts included). */
  readonly entries: number;
}

function escapeError(name: string, what = 'entry'): TsbuildError {
  return new TsbuildError('layer/path-escape', `layer ${what} ${JSON.stringify(name)} points outside the layer root`);
}

/**
 * Cleans an archive name into a relative `/`-separated path ('' is the root). Leading `/` and `./` are dropped;
 * a name that climbs above the root with `..` is rejected.
 */
export function cleanEntryName(name: string, what = 'entry'): string {
  if (name.includes('\0')) throw escapeError(name, what);
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw escapeError(name, what);
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await lstat(p);
  } catch (e) {
    if (errno(e) === 'ENOENT') return undefined;
    throw e;
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (e, _o, stderr) =>
      e ? reject(new TsbuildError('layer/apply-failed', `${cmd} ${args.join(' ')}: ${String(stderr).trim() || e.message}`)) : resolve(),
    );
  });
}

async function* decompress(src: AsyncIterable<Buffer>, mediaType: string): AsyncGenerator<Buffer> {
  if (compressionOfMediaType(mediaType) === undefined) throw unknownMediaType(mediaType);
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, r.value]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  // Magic bytes win over the media type: mislabelled blobs exist, and the magic numbers cannot be a tar header.
  const actual = sniffCompression(head);
  if (actual === 'none') {
    yield* rest();
    return;
  }
  const input = Readable.from(rest());
  const d = createDecompressor(actual);
  input.on('error', (e) => d.destroy(e));
  input.pipe(d);
  try {
    for await (const c of d as AsyncIterable<Buffer>) yield c;
  } catch (e) {
    throw new TsbuildError('layer/bad-compression', `cannot decompress ${actual} layer: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
  }
}

/** Extracts one layer into `opts.dest`. */
export async function applyLayer(opts: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const overlay = opts.mode === 'overlay';
  await mkdir(opts.dest, { recursive: true });
  if (overlay && (await readdir(opts.dest)).length > 0) {
    throw new TsbuildError('layer/dest-not-empty', `snapshot directory ${opts.dest} is not empty`);
  }
  const root = await realpath(opts.dest);
  try {
    return await extract(opts, root, overlay);
  } catch (e) {
    if (overlay) await rm(root, { recursive: true, force: true });
    throw e;
  }
}

async function extract(opts: ApplyLayerOptions, root: string, overlay: boolean): Promise<ApplyLayerResult> {
  const source: AsyncIterable<Buffer> = typeof opts.blob === 'string' ? createReadStream(opts.blob) : opts.blob;
  const diffHash = createHash('sha256');
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const c of decompress(source, opts.mediaType)) {
      diffHash.update(c);
      yield c;
    }
  }

  /** Resolved real directories (relative → absolute), valid until anything in the tree is removed or replaced. */
  const dirCache = new Map<string, string>();
  /** Plain mode: paths this layer created, which an opaque marker in the same layer must not delete. */
  const created = new Set<string>();
  const dirTimes: { abs: string; mtime: number }[] = [];
  const xattrs = new XattrBatch();
  let entries = 0;

  /**
   * The absolute path of directory `rel` inside root, following symlinks scoped to root. Missing components are
   * created (0755 root:root) when `create`, else the result is undefined.
   */
  async function resolveDir(rel: string, create: boolean): Promise<string | undefined> {
    if (rel === '') return root;
    const cached = dirCache.get(rel);
    if (cached !== undefined) return cached;
    let parts = rel.split('/');
    const cur: string[] = [];
    let hops = 0;
    while (parts.length > 0) {
      const p = parts.shift()!;
      if (p === '' || p === '.') continue;
      if (p === '..') {
        cur.pop();
        continue;
      }
      const candidate = path.join(root, ...cur, p);
      const st = await lstatOrUndefined(candidate);
      if (st === undefined) {
        if (!create) return undefined;
        await mkdir(candidate, { mode: 0o755 });
        cur.push(p);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > 40) throw new TsbuildError('layer/symlink-loop', `too many symlinks resolving /${rel} in the layer`);
        const target = await readlink(candidate);
        if (target.startsWith('/')) cur.length = 0;
        parts = [...target.split('/'), ...parts];
        continue;
      }
      if (!st.isDirectory()) {
        throw new TsbuildError('layer/not-a-directory', `layer entry path /${rel}: /${[...cur, p].join('/')} is not a directory`);
      }
      cur.push(p);
    }
    const abs = path.join(root, ...cur);
    dirCache.set(rel, abs);
    return abs;
  }

  async function removeExisting(abs: string, st: Stats): Promise<void> {
    await rm(abs, { recursive: st.isDirectory(), force: true });
    dirCache.clear();
  }

  async function setMeta(abs: string, h: TarHeader, isLink: boolean): Promise<void> {
    // chown before chmod (chown clears setuid/setgid), xattrs after both (chown clears security.capability).
    if (isLink) {
      await lchown(abs, h.uid, h.gid);
      await lutimes(abs, h.mtime, h.mtime);
    } else {
      await chown(abs, h.uid, h.gid);
      await chmod(abs, h.mode);
    }
    if (h.xattrs) xattrs.add(abs, h.xattrs);
  }

  for await (const { header: h, body } of readTar(tapped())) {
    entries++;
    const rel = cleanEntryName(h.name);
    if (rel === '') continue; // the root itself ("./"): dest already exists with its own metadata
    const slash = rel.lastIndexOf('/');
    const parentRel = slash === -1 ? '' : rel.slice(0, slash);
    const base = rel.slice(slash + 1);

    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE_MARKER) {
        const dir = await resolveDir(parentRel, overlay);
        if (dir === undefined) continue;
        if (overlay) xattrs.add(dir, new Map([[OVERLAY_OPAQUE, Buffer.from('y')]]));
        else {
          for (const child of await readdir(dir)) {
            const childRel = parentRel ? `${parentRel}/${child}` : child;
            if (!created.has(childRel)) await rm(path.join(dir, child), { recursive: true, force: true });
          }
          dirCache.clear();
        }
        continue;
      }
      const hidden = base.slice(WHITEOUT_PREFIX.length);
      if (hidden === '' || hidden === '.' || hidden === '..') throw escapeError(h.name);
      const dir = await resolveDir(parentRel, overlay);
      if (dir === undefined) continue;
      const target = path.join(dir, hidden);
      const st = await lstatOrUndefined(target);
      if (st) await removeExisting(target, st);
      if (overlay) {
        await run('mknod', [target, 'c', '0', '0']);
        await chmod(target, 0o600);
      }
      continue;
    }

    const dir = (await resolveDir(parentRel, true))!;
    const abs = path.join(dir, base);
    const existing = await lstatOrUndefined(abs);
    if (existing && !(existing.isDirectory() && h.type === 'dir')) await removeExisting(abs, existing);
    if (!overlay) created.add(rel);

    switch (h.type) {
      case 'dir': {
        if (!existing?.isDirectory()) await mkdir(abs, { mode: 0o700 });
        await setMeta(abs, h, false);
        dirTimes.push({ abs, mtime: h.mtime });
        dirCache.delete(rel);
        break;
      }
      case 'file': {
        const fh = await open(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) await fh.write(chunk);
          await fh.chown(h.uid, h.gid);
          await fh.chmod(h.mode);
          await fh.utimes(h.mtime, h.mtime);
        } finally {
          await fh.close();
        }
        if (h.xattrs) xattrs.add(abs, h.xattrs);
        break;
      }
      case 'symlink':
        await symlink(h.linkname ?? '', abs);
        await setMeta(abs, h, true);
        break;
      case 'hardlink': {
        const targetRel = cleanEntryName(h.linkname ?? '', 'hardlink target');
        if (targetRel === '') throw escapeError(h.linkname ?? '', 'hardlink target');
        const ts = targetRel.lastIndexOf('/');
        const tdir = await resolveDir(ts === -1 ? '' : targetRel.slice(0, ts), false);
        const tabs = tdir === undefined ? undefined : path.join(tdir, targetRel.slice(ts + 1));
        const tst = tabs === undefined ? undefined : await lstatOrUndefined(tabs);
        if (tabs === undefined || tst === undefined || tst.isDirectory()) {
          throw new TsbuildError(
            'layer/bad-hardlink',
            `layer hardlink /${rel} points to /${targetRel}, which is not an existing non-directory inside the layer root`,
          );
        }
        await link(tabs, abs);
        break;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const args = h.type === 'fifo' ? [abs, 'p'] : [abs, h.type === 'char' ? 'c' : 'b', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
        await run('mknod', args);
        await setMeta(abs, h, false);
        await utimes(abs, h.mtime, h.mtime);
        break;
      }
    }
  }

  await xattrs.apply();
  // Directory mtimes last: creating children changed them. Deepest first is not needed since utimes on a parent
  // does not touch children, but later entries may have re-created dirs, so the last record for a path wins.
  for (const { abs, mtime } of dirTimes) {
    let fh;
    try {
      // O_NOFOLLOW: a later entry may have replaced the directory with a symlink; never touch its target.
      fh = await open(abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (e) {
      if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR' || errno(e) === 'ELOOP') continue;
      throw e;
    }
    try {
      await fh.utimes(mtime, mtime);
    } finally {
      await fh.close();
    }
  }
  return { diffId: asDigest(`sha256:${diffHash.digest('hex')}`), entries };
}
