/**
 * A gzip compressor for layers that is fast on big layers, pigz-style:
 *
 * - the input is cut into fixed 1 MiB windows of the uncompressed stream (so the output does not depend on how the
 *   input happened to be chunked: equal input gives equal bytes);
 * - each window is compressed independently as raw deflate ending in a sync flush (byte-aligned, not final), the
 *   last one with a final block; concatenated, they form one valid deflate stream inside one gzip member, with the
 *   CRC-32 and length of the whole input in the trailer. Any gunzip reads it;
 * - windows are compressed on libuv's thread pool, several at once, so compression uses more than one core while
 *   the walker and the hashes run on the main thread;
 * - a window whose sampled byte entropy says it is incompressible (random or already-compressed data) is stored
 *   (deflate level 0, memcpy speed) instead of being run through the compressor for nothing.
 *
 * Memory: at most `concurrency` windows in flight (input + output), a few MiB.
 */
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { promisify } from 'node:util';

const deflateRaw = promisify(zlib.deflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/** Uncompressed bytes per independently compressed window. */
export const GZIP_WINDOW = 1 << 20;

/** gzip member header: deflate, no flags, mtime 0, no extra flags, OS = Unix (3). */
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);

/**
 * Shannon entropy (bits per byte) of every 4th byte of `buf`: above ~7.9 the data will not compress.
 * Sampling keeps it ~0.3 ms per MiB; periodic data that fools a byte histogram only costs ratio, never correctness.
 */
export function sampledEntropy(buf: Uint8Array): number {
  const counts = new Uint32Array(256);
  let n = 0;
  for (let i = 0; i < buf.length; i += 4) {
    counts[buf[i]!]!++;
    n++;
  }
  if (n === 0) return 0;
  let h = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c === 0) continue;
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Entropy (bits/byte) above which a window is stored rather than compressed. */
const INCOMPRESSIBLE_BITS = 7.95;

export interface ParallelGzipOptions {
  /** zlib level for compressible windows, 1-9. Default 1 (see compression.ts for why). */
  readonly level?: number;
  /** Windows compressed at once. Default 3. */
  readonly concurrency?: number;
}

/** At or below this a window is compressed with LZ77 matching; above it (and below INCOMPRESSIBLE_BITS) it is mixed. */
const MIXED_BITS = 7.0;

/**
 * One window as raw deflate (sync-flushed, or final when `last`), by its sampled entropy:
 * - incompressible (random, already compressed): stored, at memcpy speed;
 * - mixed (many small random or compressed files between tar headers and zero padding): run-length matching only
 *   (zlib's Z_RLE strategy), which catches the headers and padding, where all the gain is, at 2.7x the speed of
 *   level 1 for the same size (measured on such a window: 99 vs 37 MB/s, 0.917 vs 0.916 of the input);
 * - otherwise: `level` (1 by default).
 * The output depends only on the window's bytes.
 */
function deflateWindow(window: Buffer, level: number, last: boolean): Promise<Buffer> {
  const finishFlush = last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH;
  if (window.length < 4096) return deflateRaw(window, { level, finishFlush });
  const h = sampledEntropy(window);
  if (h > INCOMPRESSIBLE_BITS) return deflateRaw(window, { level: 0, finishFlush });
  if (h > MIXED_BITS) return deflateRaw(window, { level, strategy: zlib.constants.Z_RLE, finishFlush });
  return deflateRaw(window, { level, finishFlush });
}

/** A Duplex: uncompressed bytes in, one gzip member out (see the module comment for the format). */
export function createParallelGzip(opts: ParallelGzipOptions = {}): Duplex {
  const level = opts.level ?? 1;
  const concurrency = Math.max(1, opts.concurrency ?? 3);

  async function* compress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    yield HEADER;
    let crc = 0;
    let total = 0;
    const inflight: Promise<Buffer>[] = [];
    const start = (window: Buffer, last: boolean): void => {
      crc = zlib.crc32(window, crc);
      total += window.length;
      const p = deflateWindow(window, level, last);
      // Awaited in order below; this only keeps a failure behind an earlier one from being reported as unhandled.
      p.catch(() => undefined);
      inflight.push(p);
    };
    // Fill windows of exactly GZIP_WINDOW bytes; hold one back until we know whether it is the last.
    let parts: Buffer[] = [];
    let filled = 0;
    let pending: Buffer | undefined;
    for await (const chunk of source) {
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(GZIP_WINDOW - filled, chunk.length - off);
        parts.push(chunk.subarray(off, off + take));
        filled += take;
        off += take;
        if (filled === GZIP_WINDOW) {
          if (pending) {
            start(pending, false);
            while (inflight.length >= concurrency) yield await inflight.shift()!;
          }
          // Copy: the source may reuse its buffers once we return control to it.
          pending = parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts, filled);
          parts = [];
          filled = 0;
        }
      }
    }
    if (filled > 0) {
      if (pending) start(pending, false);
      start(parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts, filled), true);
    } else {
      // An empty input still needs a final (empty) deflate block.
      start(pending ?? Buffer.alloc(0), true);
    }
    while (inflight.length > 0) yield await inflight.shift()!;
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc >>> 0, 0);
    trailer.writeUInt32LE(total % 0x1_0000_0000, 4);
    yield trailer;
  }

  return Duplex.from(compress);
}
