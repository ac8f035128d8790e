/**
 * Streaming view of one layer: the blob is decompressed (by magic bytes) and read entry by entry with the
 * executor's tar reader; each file body is hashed as it streams past and then dropped, so memory stays flat
 * whatever the layer's size.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { readTar, type TarEntryType } from '../executor/layer/index.ts';
import { cleanEntryName } from '../executor/layer/apply.ts';
import { createDecompressor, sniffCompression } from '../executor/layer/compression.ts';
import { TsbuildError } from '../util/errors.ts';

/** One entry of a layer, as `tsbuild diff` and `tsbuild analyze` see it. */
export interface LayerEntry {
  /** Clean relative path (`etc/passwd`; never empty, never `..`). For a whiteout: the path it deletes. */
  readonly path: string;
  /** `whiteout` deletes `path` (and its subtree); `opaque` hides everything below `path` from lower layers. */
  readonly type: TarEntryType | 'whiteout' | 'opaque';
  /** Permission bits (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content bytes of a regular file; 0 for everything else. */
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  /** Symlink target, or the clean path a hardlink points at. */
  readonly linkTarget?: string;
  /** `sha256:<hex>` of the content of a regular file. */
  readonly digest?: string;
  /** Extended attributes, name → sha256 of the value (`sha256:<hex>`), sorted by name. */
  readonly xattrs?: Readonly<Record<string, string>>;
  readonly devmajor?: number;
  readonly devminor?: number;
}

/** Decompresses a layer blob stream (gzip, zstd or none, recognised by its first bytes). */
export async function* decompressLayer(src: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    head = Buffer.concat([head, Buffer.from(r.value)]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  const c = sniffCompression(head);
  if (c === 'none') {
    yield* rest();
    return;
  }
  const input = Readable.from(rest());
  const d = createDecompressor(c);
  input.on('error', (e) => d.destroy(e));
  input.pipe(d);
  try {
    for await (const chunk of d as AsyncIterable<Buffer>) yield chunk;
  } catch (e) {
    if (e instanceof TsbuildError) throw e;
    throw new TsbuildError('diff/bad-layer', `cannot decompress ${c} layer: ${(e as Error).message}`, { cause: e });
  } finally {
    input.destroy();
  }
}

const WH = '.wh.';
const OPQ = '.wh..wh..opq';

/**
 * The entries of a layer in archive order. `blob` is the (possibly compressed) layer blob. Hardlink bodies get
 * the digest of the file they link to (seen earlier in the same layer, as tar requires).
 */
export async function* layerEntries(blob: AsyncIterable<Uint8Array>): AsyncGenerator<LayerEntry> {
  const digests = new Map<string, { digest: string; size: number }>();
  for await (const { header: h, body } of readTar(decompressLayer(blob))) {
    let path = cleanEntryName(h.name);
    if (path === '') {
      for await (const _ of body) void _;
      continue;
    }
    const slash = path.lastIndexOf('/');
    const dir = slash === -1 ? '' : path.slice(0, slash);
    const base = slash === -1 ? path : path.slice(slash + 1);
    const common = { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime };
    if (base === OPQ) {
      for await (const _ of body) void _;
      if (dir !== '') yield { path: dir, type: 'opaque', ...common, size: 0 };
      continue;
    }
    if (base.startsWith(WH)) {
      for await (const _ of body) void _;
      path = dir === '' ? base.slice(WH.length) : `${dir}/${base.slice(WH.length)}`;
      yield { path, type: 'whiteout', ...common, size: 0 };
      continue;
    }
    let digest: string | undefined;
    let size = 0;
    let linkTarget = h.linkname;
    if (h.type === 'file') {
      const hash = createHash('sha256');
      for await (const chunk of body) hash.update(chunk);
      digest = `sha256:${hash.digest('hex')}`;
      size = h.size;
      digests.set(path, { digest, size });
    } else {
      for await (const _ of body) void _;
      if (h.type === 'hardlink' && linkTarget !== undefined) {
        linkTarget = cleanEntryName(linkTarget, 'hardlink target');
        const t = digests.get(linkTarget);
        if (t) {
          digest = t.digest;
          size = t.size;
        }
      }
    }
    let xattrs: Record<string, string> | undefined;
    if (h.xattrs && h.xattrs.size > 0) {
      xattrs = {};
      for (const name of [...h.xattrs.keys()].sort()) xattrs[name] = `sha256:${createHash('sha256').update(h.xattrs.get(name)!).digest('hex')}`;
    }
    yield {
      path,
      type: h.type,
      ...common,
      size,
      ...(linkTarget !== undefined ? { linkTarget } : {}),
      ...(digest !== undefined ? { digest } : {}),
      ...(xattrs ? { xattrs } : {}),
      ...(h.devmajor !== undefined ? { devmajor: h.devmajor, devminor: h.devminor ?? 0 } : {}),
    };
  }
}
