/** Writing layer blobs: upperdir or plain directory → (compressed) tar file, digests computed while streaming. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { asDigest, type Digest } from '../../util/digest.ts';
import { createCompressor, layerMediaType, type Compression } from './compression.ts';
import { tarDirectory, type WalkOptions } from './walk.ts';

/** A written layer blob. */
export interface LayerBlob {
  /** sha256 of the blob as written (compressed bytes): the descriptor digest. */
  readonly digest: Digest;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  readonly diffId: Digest;
  /** Blob size in bytes (compressed). */
  readonly size: number;
  /** Uncompressed tar size in bytes. */
  readonly uncompressedSize: number;
  /** `application/vnd.oci.image.layer.v1.tar`, `+gzip` or `+zstd`. */
  readonly mediaType: string;
}

export interface WriteLayerOptions {
  /** The overlayfs upperdir holding one step's changes. */
  readonly upperDir: string;
  /** File to create (atomically: a temp file beside it is fsynced and renamed). */
  readonly out: string;
  readonly compression: Compression;
  /** gzip 1-9 (default 6), zstd 1-19 (default 3). */
  readonly compressionLevel?: number;
  /** Seconds since the epoch; every mtime becomes min(mtime, sourceDateEpoch). */
  readonly sourceDateEpoch?: number;
  /** Relative paths (e.g. `etc/resolv.conf`) left out with their subtrees: mountpoint stubs the sandbox created. */
  readonly excludePaths?: readonly string[];
  /** Whether a relative path exists in the lower layers; whiteouts of paths absent below are dropped. */
  readonly lowerHas?: (relPath: string) => boolean;
}

/** Options for a plain directory (no overlay markers interpreted). */
export interface WriteTarOptions {
  readonly compression?: Compression;
  readonly compressionLevel?: number;
  readonly sourceDateEpoch?: number;
  readonly excludePaths?: readonly string[];
  /** Put every entry under this directory inside the tar (e.g. `app` for COPY --link to /app). */
  readonly prefix?: string;
}

/** Turns an overlayfs upperdir into an OCI layer blob at `opts.out`. */
export function writeLayer(opts: WriteLayerOptions): Promise<LayerBlob> {
  return writeTarStream(
    opts.upperDir,
    {
      overlay: true,
      sourceDateEpoch: opts.sourceDateEpoch,
      excludePaths: opts.excludePaths,
      lowerHas: opts.lowerHas,
    },
    opts.out,
    opts.compression,
    opts.compressionLevel,
  );
}

/** Archives a plain directory (its contents, not the directory itself) into a tar blob at `out`. */
export function writeTarFromDir(dir: string, out: string, opts: WriteTarOptions = {}): Promise<LayerBlob> {
  return writeTarStream(
    dir,
    { overlay: false, sourceDateEpoch: opts.sourceDateEpoch, excludePaths: opts.excludePaths, prefix: opts.prefix },
    out,
    opts.compression ?? 'none',
    opts.compressionLevel,
  );
}

async function writeTarStream(
  dir: string,
  walk: WalkOptions,
  out: string,
  compression: Compression,
  level: number | undefined,
): Promise<LayerBlob> {
  const diffHash = createHash('sha256');
  const blobHash = createHash('sha256');
  let uncompressedSize = 0;
  let size = 0;
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.tmp-${randomBytes(6).toString('hex')}`);
  const stages: (Duplex | ((src: AsyncIterable<Buffer>) => AsyncGenerator<Buffer>))[] = [
    async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        diffHash.update(c);
        uncompressedSize += c.length;
        yield c;
      }
    },
  ];
  // Uncompressed, the blob is the tar: one hash gives both digests.
  if (compression !== 'none') {
    stages.push(createCompressor(compression, level));
    stages.push(async function* (src: AsyncIterable<Buffer>) {
      for await (const c of src) {
        blobHash.update(c);
        size += c.length;
        yield c;
      }
    });
  }
  try {
    // flush: fsync before close, so the rename below never publishes a file whose data is not on disk.
    const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true });
    await (pipeline as (...args: unknown[]) => Promise<void>)(
      Readable.from(tarDirectory(dir, walk), { objectMode: false }),
      ...stages,
      sink,
    );
    await rename(tmp, out);
    await fsyncDir(path.dirname(out));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const diffId = asDigest(`sha256:${diffHash.digest('hex')}`);
  return {
    digest: compression === 'none' ? diffId : asDigest(`sha256:${blobHash.digest('hex')}`),
    diffId,
    size: compression === 'none' ? uncompressedSize : size,
    uncompressedSize,
    mediaType: layerMediaType(compression),
  };
}

/** fsync a directory so that a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
