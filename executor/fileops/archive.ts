/**
 * ADD's local archive extraction (Docker's `archive.Untar` into the destination, as BuildKit's
 * AttemptUnpackDockerCompatibility does): a regular file whose content, after gzip/bzip2/xz/zstd decompression
 * chosen by magic bytes, starts with a valid tar header is extracted with merge semantics; anything else is copied
 * as is.
 *
 * Containment: Docker extracts inside a chroot of the destination directory. We get the same effect without one:
 * entry names are cleaned, names climbing out (`../x`) are rejected as a breakout, every parent is resolved with
 * `resolveInRoot(destDir, …)` (so a symlink planted by an earlier entry, even `/` or `../../..`, resolves inside the
 * destination directory), the final component is created exclusively or renamed over (placeEntry) and never
 * followed, and hardlink targets are looked up inside the destination directory.
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { link, mkdir, open, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { PassThrough, Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { extract, type Extract, type Header } from 'tar-stream';
import { TsbuildError } from '../../util/errors.ts';
import { cleanPath, relativeInRoot, resolveInRoot } from '../../util/safe-path.ts';
import { applyMeta, lstatOrNull, mkdirAllInRoot, placeEntry } from './fs-write.ts';

/** One entry of an extract stream (tar-stream does not export its type). */
type TarEntry = Extract extends AsyncIterable<infer E> ? E : never;

/** Compression detected from a file's first bytes. */
export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

// Both decoders are CommonJS whose named exports Node's ESM loader cannot see: load them through require.
const require = createRequire(import.meta.url);
// Loaded on first use: most builds never unpack an xz archive and start-up should not pay for the decoder.
let xzModule: typeof import('xz-decompress') | undefined;
const xzDecompress = (): typeof import('xz-decompress') => (xzModule ??= require('xz-decompress') as typeof import('xz-decompress'));

/** Detects the compression of `head` (the first bytes of a file) by magic number, as Docker's DetectCompression. */
export function detectCompression(head: Uint8Array): Compression {
  const starts = (...m: number[]) => m.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b, 0x08)) return 'gzip';
  if (starts(0x42, 0x5a, 0x68)) return 'bzip2';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/**
 * A readable stream of `file`'s decompressed content. Destroying it (e.g. after sniffing the first block) also
 * closes the file, and an error anywhere in the chain surfaces on it.
 */
export function decompressedStream(file: string, compression: Compression): Readable {
  const raw = createReadStream(file);
  if (compression === 'none') return raw;
  let out: Readable;
  if (compression === 'xz') {
    out = Readable.fromWeb(new (xzDecompress().XzReadableStream)(Readable.toWeb(raw) as ReadableStream<Uint8Array>) as import('node:stream/web').ReadableStream);
  } else {
    const decoder: Duplex =
      compression === 'gzip'
        ? zlib.createGunzip()
        : compression === 'zstd'
          ? zlib.createZstdDecompress()
          : (require('unbzip2-stream') as () => Duplex)();
    // unbzip2-stream is an old-style `through` stream: bridge it into a modern Readable.
    const pt = new PassThrough();
    raw.on('error', (e) => pt.destroy(e));
    decoder.on('error', (e: Error) => pt.destroy(e));
    raw.pipe(decoder).pipe(pt);
    out = pt;
  }
  out.on('close', () => raw.destroy());
  return out;
}

/** True when `block` (512 bytes) is a tar header with a valid checksum (Go's tar reader accepts the same). */
export function isTarHeader(block: Uint8Array): boolean {
  if (block.length < 512) return false;
  if (block.every((b) => b === 0)) return false;
  const field = Buffer.from(block.subarray(148, 156)).toString('latin1').replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const want = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

/**
 * The compression of `file` when it is a (possibly compressed) tar archive, else null. A decompression error
 * (a file that merely starts with a magic number) means "not an archive", as in BuildKit's isArchivePath.
 */
export async function detectArchive(file: string): Promise<Compression | null> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    head = head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  const compression = detectCompression(head);
  const stream = decompressedStream(file, compression);
  const chunks: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(b);
      have += b.length;
      if (have >= 512) break;
    }
  } catch {
    return null;
  } finally {
    stream.destroy();
  }
  return isTarHeader(Buffer.concat(chunks).subarray(0, 512)) ? compression : null;
}

/** Counters of an extraction. */
export interface ExtractStats {
  entries: number;
  bytes: number;
}

/**
 * Extracts the tar archive `file` (compressed as `compression`) into `destDir`, a directory that exists inside
 * `destRoot` (both host paths). Entries keep the owner, mode and mtime of their headers (Docker's Untar without
 * chown options); existing directories are merged, other existing entries replaced. Throws
 * `fileops/archive-breakout` for names or hardlinks that point outside `destDir`.
 */
export async function extractArchive(file: string, compression: Compression, destDir: string): Promise<ExtractStats> {
  const stats: ExtractStats = { entries: 0, bytes: 0 };
  const dirTimes: { host: string; header: Header }[] = [];
  // Parent directories already resolved to a real directory (no symlink on the way), by relative path. A real
  // directory is never replaced during an extraction (placeEntry refuses to put anything over a directory), so an
  // entry under it needs no new walk from the root.
  const dirs = new Map<string, string>();
  const ex = extract();
  const source = decompressedStream(file, compression);
  let feedError: unknown;
  const feed = pipeline(source, ex).catch((e: unknown) => {
    feedError = e;
  });
  try {
    for await (const entry of ex) {
      try {
        await extractEntry(entry, destDir, stats, dirTimes, dirs);
      } finally {
        entry.resume();
      }
    }
  } catch (e) {
    source.destroy();
    await feed;
    throw wrapArchiveError(file, e);
  }
  await feed;
  if (feedError !== undefined) throw wrapArchiveError(file, feedError);
  // Directory times last (deepest first), after their contents stopped changing them.
  for (const { host, header } of dirTimes.reverse()) {
    await applyMeta(host, headerMeta(header, true), false);
  }
  return stats;
}

function writeAllSync(fd: number, chunk: Buffer): void {
  for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
}

function wrapArchiveError(file: string, e: unknown): unknown {
  if (e instanceof TsbuildError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new TsbuildError('fileops/archive-invalid', `failed to extract ${path.basename(file)}: ${msg}`, { cause: e });
}

function headerMeta(h: Header, isDir: boolean) {
  return {
    mode: (h.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777,
    owner: { uid: h.uid ?? 0, gid: h.gid ?? 0 },
    ...(h.mtime ? { mtime: h.mtime } : {}),
  };
}

/** The entry's path relative to the destination directory; throws on a breakout like Docker's Unpack. */
function entryRel(name: string, what: string): string {
  const clean = cleanPath(name);
  if (clean === '..' || clean.startsWith('../')) {
    throw new TsbuildError('fileops/archive-breakout', `archive ${what} ${JSON.stringify(name)} points outside the destination directory`);
  }
  // An absolute name is taken relative to the destination, as Docker does (filepath.Join(dest, name)).
  return cleanPath('/' + clean).slice(1);
}

async function extractEntry(
  entry: TarEntry,
  destDir: string,
  stats: ExtractStats,
  dirTimes: { host: string; header: Header }[],
  dirs: Map<string, string>,
): Promise<void> {
  const h = entry.header;
  const rel = entryRel(h.name, 'entry');
  if (rel === '') return; // "./" itself: Docker skips metadata of the root too
  const parentRel = path.posix.dirname(rel);
  const base = path.posix.basename(rel);
  const zero = { uid: 0, gid: 0 };
  let parentHost = parentRel === '.' ? destDir : dirs.get(parentRel);
  if (parentHost === undefined) {
    parentHost = await mkdirAllInRoot(destDir, parentRel, { owner: zero });
    if (parentHost === path.join(destDir, parentRel)) dirs.set(parentRel, parentHost);
  }
  const target = path.join(parentHost, base);
  stats.entries++;
  switch (h.type) {
    case 'directory': {
      const st = await lstatOrNull(target);
      if (st && !st.isDirectory()) {
        await placeEntry(destDir, target, async (tmp) => {
          await mkdir(tmp, { mode: 0o700 });
        });
      } else if (!st) {
        await mkdir(target, { mode: 0o700 });
      }
      await applyMeta(target, { ...headerMeta(h, true), mtime: undefined }, false);
      dirTimes.push({ host: target, header: h });
      return;
    }
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined: {
      await placeEntry(destDir, target, async (tmp) => {
        // Written with synchronous calls as the tar stream delivers the bytes: an extraction is sequential anyway,
        // and a write-stream per entry costs thread-pool trips for open, each write and close.
        const fd = openSync(tmp, 'wx', 0o600);
        try {
          for await (const chunk of entry as AsyncIterable<Buffer>) writeAllSync(fd, chunk);
        } finally {
          closeSync(fd);
        }
        await applyMeta(tmp, headerMeta(h, false), false);
      });
      stats.bytes += h.size ?? 0;
      return;
    }
    case 'symlink': {
      // The link text is stored as is; it is only ever resolved inside a root later.
      await placeEntry(destDir, target, async (tmp) => {
        await symlink(h.linkname ?? '', tmp);
        await applyMeta(tmp, headerMeta(h, false), true);
      });
      return;
    }
    case 'link': {
      const linkRel = entryRel(h.linkname ?? '', 'hardlink target');
      const linkHost = await resolveInRoot(destDir, linkRel, { followFinal: false });
      const st = await lstatOrNull(linkHost);
      if (!st || st.isDirectory()) {
        throw new TsbuildError('fileops/archive-invalid', `archive hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}: target is missing or a directory`);
      }
      // resolveInRoot keeps linkHost inside destDir; check anyway, the rename target must never leave it.
      relativeInRoot(destDir, linkHost);
      await placeEntry(destDir, target, async (tmp) => {
        await link(linkHost, tmp);
      });
      return;
    }
    default:
      // Devices and FIFOs need mknod, which Node cannot do; pax/GNU meta headers are consumed by tar-stream.
      stats.entries--;
      return;
  }
}
