/**
 * The directory walker shared by the layer writer (overlayfs upperdir → OCI layer) and the plain tar writer.
 * Produces tar bytes as an async generator, so the consumer's backpressure bounds memory: one directory listing per
 * open level and one 64 KiB file chunk at a time.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import { TsbuildError } from '../../util/errors.ts';
import { encodeHeader, tarPadding, tarTrailer, type TarHeader } from './tar-format.ts';
import {
  OVERLAY_OPAQUE,
  OVERLAY_REDIRECT,
  OVERLAY_WHITEOUT,
  isPortableXattr,
  readXattrTree,
  type XattrMap,
} from './xattr.ts';

export const WHITEOUT_PREFIX = '.wh.';

/** Largest read of file content, bytes: big enough for few syscalls, small enough to keep memory flat. */
const READ_CHUNK = 1 << 20;
/** Regular files up to this size are read whole, ahead of the tar stream. */
const PREFETCH_MAX_SIZE = 256 * 1024;
/** How many entries ahead small files are read (at most PREFETCH_FILES × PREFETCH_MAX_SIZE bytes held). */
const PREFETCH_FILES = 32;
/** lstat calls in flight per directory. */
const LSTAT_BATCH = 64;

async function lstatAll(dir: string, names: readonly string[]): Promise<Stats[]> {
  const out: Stats[] = [];
  for (let i = 0; i < names.length; i += LSTAT_BATCH) {
    out.push(...(await Promise.all(names.slice(i, i + LSTAT_BATCH).map((n) => lstat(path.join(dir, n))))));
  }
  return out;
}

/**
 * Reads a regular file of `size` bytes whole (O_NOFOLLOW: it was lstat'ed as a regular file; never read through a
 * swapped-in symlink). One read of size+1 bytes tells a file that grew from one of the right size.
 */
async function readSmallFile(abs: string, size: number, rel: string): Promise<Buffer> {
  const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, size + 1 - got, null);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > size) throw new TsbuildError('layer/file-changed', `/${rel} grew while it was being archived`);
    }
    if (got !== size) throw new TsbuildError('layer/file-changed', `/${rel} shrank while it was being archived`);
    return buf.subarray(0, size);
  } finally {
    await fh.close();
  }
}
export const OPAQUE_MARKER = '.wh..wh..opq';

/** Options of the tar walker. Paths are relative to the walked root, `/`-separated, without a leading `/`. */
export interface WalkOptions {
  /** Interpret overlayfs upperdir markers (whiteouts, opaque dirs, redirects). */
  readonly overlay: boolean;
  /** Clamp every mtime to this (seconds since the epoch): `min(mtime, sourceDateEpoch)`. */
  readonly sourceDateEpoch?: number | undefined;
  /** Paths left out of the tar together with everything below them (e.g. mountpoint stubs the sandbox created). */
  readonly excludePaths?: readonly string[] | undefined;
  /** Overlay mode: whether a path exists in the lower layers; whiteouts of absent paths are dropped. */
  readonly lowerHas?: ((relPath: string) => boolean) | undefined;
  /** Prefix every entry name with this directory (no trailing `/`), e.g. for COPY --link into /app. */
  readonly prefix?: string | undefined;
}

function normalizeRel(p: string): string {
  return path.posix.normalize('/' + p).slice(1).replace(/\/+$/, '');
}

/** Byte-wise order of UTF-8 names (locale-independent). */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function devMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function devMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & 0xfff00n));
}

interface Child {
  readonly name: string;
  readonly st: Stats;
  readonly whiteout: boolean;
}

/**
 * Walks `root` depth-first with each directory's children in byte order and yields a complete tar stream.
 * In a directory the order is: the directory entry, its opaque marker, its whiteouts, then the other children.
 */
export async function* tarDirectory(root: string, opts: WalkOptions): AsyncGenerator<Buffer> {
  const absRoot = path.resolve(root);
  const xattrs = await readXattrTree(absRoot, (n) => isPortableXattr(n) || (opts.overlay && n.startsWith('trusted.overlay.')));
  const excluded = new Set((opts.excludePaths ?? []).map(normalizeRel).filter((p) => p !== ''));
  const epoch = opts.sourceDateEpoch;
  const prefix = opts.prefix ? normalizeRel(opts.prefix) : '';
  /** dev:ino → first archive name, only for non-directories with more than one link. */
  const links = new Map<string, string>();

  const clampTime = (st: Stats): number => {
    const t = Math.floor(st.mtimeMs / 1000);
    return epoch !== undefined && t > epoch ? epoch : t;
  };
  const archiveName = (rel: string): string => (prefix ? (rel ? `${prefix}/${rel}` : prefix) : rel);
  const portable = (rel: string): XattrMap | undefined => {
    const m = xattrs.get(rel);
    if (!m) return undefined;
    const out: XattrMap = new Map();
    for (const [k, v] of m) if (isPortableXattr(k)) out.set(k, v);
    return out.size > 0 ? out : undefined;
  };

  if (prefix) {
    // Parent directories of the prefix, so that extracting the tar alone creates them with sane modes.
    const parts = prefix.split('/');
    const st = await lstat(absRoot);
    for (let i = 1; i <= parts.length; i++) {
      const header: TarHeader = {
        name: parts.slice(0, i).join('/'),
        type: 'dir',
        mode: i === parts.length ? st.mode & 0o7777 : 0o755,
        uid: i === parts.length ? st.uid : 0,
        gid: i === parts.length ? st.gid : 0,
        size: 0,
        mtime: clampTime(st),
      };
      yield encodeHeader(header);
    }
  }

  async function* walkDir(abs: string, rel: string): AsyncGenerator<Buffer> {
    const names = (await readdir(abs)).sort(compareNames).filter((name) => !excluded.has(rel ? `${rel}/${name}` : name));
    const stats = await lstatAll(abs, names);
    const children: Child[] = [];
    for (const [i, name] of names.entries()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = stats[i]!;
      let whiteout = false;
      if (opts.overlay) {
        const x = xattrs.get(childRel);
        whiteout =
          (st.isCharacterDevice() && st.rdev === 0) || (st.isFile() && st.size === 0 && x?.has(OVERLAY_WHITEOUT) === true);
        if (st.isDirectory() && x?.has(OVERLAY_REDIRECT)) {
          throw new TsbuildError(
            'layer/redirect-dir',
            `overlay upperdir ${absRoot} has a renamed directory (redirect_dir) at /${childRel}; mount overlays with redirect_dir=off`,
          );
        }
        if (whiteout && opts.lowerHas && !opts.lowerHas(childRel)) continue;
      }
      children.push({ name, st, whiteout });
    }
    // Whiteouts first: a reader applying the layer must hide lower files before it meets siblings.
    for (const c of children) {
      if (!c.whiteout) continue;
      yield encodeHeader({
        name: archiveName(rel ? `${rel}/${WHITEOUT_PREFIX}${c.name}` : `${WHITEOUT_PREFIX}${c.name}`),
        type: 'file',
        mode: 0o600,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: clampTime(c.st),
      });
    }
    // Small files are read ahead, PREFETCH_FILES at a time, while earlier entries are being consumed: one file
    // after another, each open/read/close is a round trip through libuv's thread pool, and a tree of many small
    // files spent most of its time waiting on those (measured: 20,000 files / 158 MB, 12.2 s before, see
    // bench/README.md). Entries still come out in order.
    const files = children.filter((c) => !c.whiteout);
    const ahead = new Map<number, Promise<Buffer>>();
    let next = 0;
    const fill = (upTo: number): void => {
      for (; next < files.length && next <= upTo; next++) {
        const c = files[next]!;
        if (c.st.isFile() && c.st.nlink === 1 && c.st.size <= PREFETCH_MAX_SIZE) {
          const p = readSmallFile(path.join(abs, c.name), c.st.size, rel ? `${rel}/${c.name}` : c.name);
          p.catch(() => undefined); // awaited in order below
          ahead.set(next, p);
        }
      }
    };
    try {
      for (const [i, c] of files.entries()) {
        fill(i + PREFETCH_FILES);
        const childRel = rel ? `${rel}/${c.name}` : c.name;
        const pre = ahead.get(i);
        ahead.delete(i);
        yield* entry(path.join(abs, c.name), childRel, c.st, pre);
      }
    } finally {
      // A consumer that stops early leaves reads in flight: let them settle (their file handles close themselves).
      await Promise.allSettled(ahead.values());
    }
  }

  async function* entry(abs: string, rel: string, st: Stats, prefetched?: Promise<Buffer>): AsyncGenerator<Buffer> {
    const xa = portable(rel);
    const base = {
      name: archiveName(rel),
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: clampTime(st),
      ...(xa ? { xattrs: xa } : {}),
    };
    if (st.isDirectory()) {
      yield encodeHeader({ ...base, type: 'dir', size: 0 });
      if (opts.overlay && xattrs.get(rel)?.get(OVERLAY_OPAQUE)?.toString('latin1') === 'y') {
        yield encodeHeader({
          name: archiveName(`${rel}/${OPAQUE_MARKER}`),
          type: 'file',
          mode: 0o600,
          uid: 0,
          gid: 0,
          size: 0,
          mtime: clampTime(st),
        });
      }
      yield* walkDir(abs, rel);
      return;
    }
    if (st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) {
        yield encodeHeader({ ...base, type: 'hardlink', size: 0, linkname: first });
        return;
      }
      links.set(key, archiveName(rel));
    }
    if (st.isSymbolicLink()) {
      yield encodeHeader({ ...base, type: 'symlink', size: 0, linkname: await readlink(abs) });
    } else if (st.isFile() && prefetched !== undefined) {
      const content = await prefetched;
      yield encodeHeader({ ...base, type: 'file', size: st.size });
      if (content.length > 0) yield content;
      const pad = tarPadding(st.size);
      if (pad.length) yield pad;
    } else if (st.isFile()) {
      yield encodeHeader({ ...base, type: 'file', size: st.size });
      let read = 0;
      // O_NOFOLLOW: the entry was lstat'ed as a regular file; never read through a swapped-in symlink.
      const fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        // Exact-size reads (at most READ_CHUNK at a time) instead of a 64 KiB-buffer read stream per file: a tree of
        // many small files otherwise allocates 64 KiB per file and spends seconds in GC (measured: 20,000 files).
        // Each chunk is a fresh buffer because consumers downstream may still hold the previous one.
        for (;;) {
          const want = Math.min(READ_CHUNK, st.size - read + 1);
          const buf = Buffer.allocUnsafe(want);
          const { bytesRead } = await fh.read(buf, 0, want, null);
          if (bytesRead === 0) break;
          if (read + bytesRead > st.size) {
            throw new TsbuildError('layer/file-changed', `/${rel} grew while it was being archived`);
          }
          read += bytesRead;
          yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
      if (read !== st.size) throw new TsbuildError('layer/file-changed', `/${rel} shrank while it was being archived`);
      const pad = tarPadding(st.size);
      if (pad.length) yield pad;
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      yield encodeHeader({
        ...base,
        type: st.isCharacterDevice() ? 'char' : 'block',
        size: 0,
        devmajor: devMajor(st.rdev),
        devminor: devMinor(st.rdev),
      });
    } else if (st.isFIFO()) {
      yield encodeHeader({ ...base, type: 'fifo', size: 0 });
    }
    // Sockets cannot be represented in tar and are meaningless in an image: skipped, as docker and buildkit do.
  }

  yield* walkDir(absRoot, '');
  yield tarTrailer();
}
