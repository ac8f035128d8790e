/**
 * Exporters: an assembled image (manifest + config bytes + layer descriptors, blobs read through `blobSource`) to
 * an OCI layout tar, a docker-load tar, a local directory, or a flat filesystem tar. Archives are streamed (memory
 * does not grow with blob sizes) into a temp file that is fsynced and renamed over `dest`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ImageConfig } from '../../compiler/graph.ts';
import { canonicalJson, digestHex, digestOf, type Digest } from '../../util/digest.ts';
import { TsbuildError } from '../../util/errors.ts';
import { applyLayer } from '../layer/apply.ts';
import { encodeHeader, tarPadding, tarTrailer } from '../layer/tar-format.ts';
import { fsyncDir, writeTarFromDir } from '../layer/write-layer.ts';
import { MEDIA_TYPE_INDEX, MEDIA_TYPE_MANIFEST, type Descriptor } from '../image/image.ts';

/** Opens a blob by digest (from the content store, a registry, or a file). */
export type BlobSource = (digest: Digest) => Readable | Promise<Readable>;

/** What every exporter takes. */
export interface ExportImage {
  /** The exact manifest bytes (their sha256 is the manifest digest). */
  readonly manifest: Uint8Array;
  /** The exact config bytes (their sha256 is the image ID). */
  readonly config: Uint8Array;
  /** The manifest's layers, base first. */
  readonly layers: readonly Descriptor[];
  readonly blobSource: BlobSource;
  /** Image references such as `app:1.0` or `registry.example/team/app` (`:latest` implied). */
  readonly tags?: readonly string[];
}

/** A parsed tag: full name for tools, the tag alone for `org.opencontainers.image.ref.name`. */
export interface ParsedTag {
  /** `name:tag` as the user wrote it, with `:latest` added when no tag was given. */
  readonly ref: string;
  readonly name: string;
  readonly tag: string;
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const NAME_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/** Splits `name[:tag]`; rejects digests and malformed references with `export/bad-tag`. */
export function parseTag(ref: string): ParsedTag {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > slash;
  const name = hasTag ? ref.slice(0, colon) : ref;
  const tag = hasTag ? ref.slice(colon + 1) : 'latest';
  if (ref.includes('@') || !NAME_RE.test(name) || !TAG_RE.test(tag)) {
    throw new TsbuildError('export/bad-tag', `invalid image reference ${JSON.stringify(ref)} (expected name[:tag])`, {
      exitCode: 2,
    });
  }
  return { ref: `${name}:${tag}`, name, tag };
}

function mismatch(d: Digest, what: string): TsbuildError {
  return new TsbuildError('export/blob-mismatch', `blob ${d} from the blob source ${what}`);
}

/** Streams a blob, failing if its size or sha256 differs from the descriptor. */
async function* verifiedBlob(src: BlobSource, desc: { digest: Digest; size: number }): AsyncGenerator<Buffer> {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of (await src(desc.digest)) as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > desc.size) throw mismatch(desc.digest, `is larger than its descriptor size ${desc.size}`);
    h.update(c);
    yield c;
  }
  if (n !== desc.size) throw mismatch(desc.digest, `has ${n} bytes, descriptor says ${desc.size}`);
  if (`sha256:${h.digest('hex')}` !== desc.digest) throw mismatch(desc.digest, 'does not match its digest');
}

function parseConfig(bytes: Uint8Array): ImageConfig {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as ImageConfig;
  } catch (e) {
    throw new TsbuildError('export/bad-config', `image config is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** Writes `chunks` to `dest` via a temp file + fsync + rename; removes the temp file on failure. */
async function writeAtomically(dest: string, chunks: AsyncIterable<Buffer>): Promise<void> {
  const abs = path.resolve(dest);
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(Readable.from(chunks), createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }));
    await rename(tmp, abs);
    await fsyncDir(path.dirname(abs));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

interface ArchiveFile {
  readonly name: string;
  readonly size: number;
  readonly body: () => AsyncIterable<Buffer>;
}

/** A tar of fixed-size files (mtime 0, root-owned, 0644; parent dirs listed once). */
async function* archive(files: readonly ArchiveFile[]): AsyncGenerator<Buffer> {
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      yield encodeHeader({ name: d, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 });
    }
    yield encodeHeader({ name: f.name, type: 'file', mode: 0o644, uid: 0, gid: 0, size: f.size, mtime: 0 });
    yield* f.body();
    const pad = tarPadding(f.size);
    if (pad.length) yield pad;
  }
  yield tarTrailer();
}

function bytesFile(name: string, data: Uint8Array | string): ArchiveFile {
  const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return {
    name,
    size: b.length,
    body: async function* () {
      yield b;
    },
  };
}

const blobPath = (d: Digest): string => `blobs/sha256/${digestHex(d)}`;

/** The OCI layout files (oci-layout, index.json, blobs) for an image. */
function ociLayoutFiles(img: ExportImage): { files: ArchiveFile[]; manifestDigest: Digest; configDigest: Digest } {
  const manifestDigest = digestOf(img.manifest);
  const configDigest = digestOf(img.config);
  const config = parseConfig(img.config);
  const tags = (img.tags ?? []).map(parseTag);
  const base: Descriptor = {
    mediaType: MEDIA_TYPE_MANIFEST,
    digest: manifestDigest,
    size: img.manifest.length,
  };
  const platform = {
    architecture: config.architecture,
    os: config.os,
    ...(config.variant !== undefined ? { variant: config.variant } : {}),
  };
  const manifests =
    tags.length === 0
      ? [{ ...base, platform }]
      : tags.map((t) => ({
          ...base,
          platform,
          annotations: { 'io.containerd.image.name': t.ref, 'org.opencontainers.image.ref.name': t.tag },
        }));
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests };
  const files: ArchiveFile[] = [
    bytesFile('oci-layout', canonicalJson({ imageLayoutVersion: '1.0.0' })),
    bytesFile('index.json', canonicalJson(index)),
    bytesFile(blobPath(configDigest), img.config),
    bytesFile(blobPath(manifestDigest), img.manifest),
  ];
  const seen = new Set<string>([configDigest, manifestDigest]);
  for (const l of img.layers) {
    if (seen.has(l.digest)) continue;
    seen.add(l.digest);
    files.push({ name: blobPath(l.digest), size: l.size, body: () => verifiedBlob(img.blobSource, l) });
  }
  return { files, manifestDigest, configDigest };
}

/** `type=oci,dest=FILE.tar`: an OCI image layout as a tar (tags in `org.opencontainers.image.ref.name`). */
export async function exportOciArchive(img: ExportImage, dest: string): Promise<{ manifestDigest: Digest }> {
  const { files, manifestDigest } = ociLayoutFiles(img);
  await writeAtomically(dest, archive(files));
  return { manifestDigest };
}

/**
 * `type=docker,dest=FILE.tar`: what `docker load` and `podman load` read: the OCI layout plus `manifest.json`
 * (`[{Config, RepoTags, Layers}]` with blob paths). Layers are stored as they are (compressed): both loaders
 * detect the compression of each layer file.
 */
export async function exportDockerArchive(img: ExportImage, dest: string): Promise<{ manifestDigest: Digest }> {
  const { files, manifestDigest, configDigest } = ociLayoutFiles(img);
  const manifestJson = [
    {
      Config: blobPath(configDigest),
      RepoTags: (img.tags ?? []).map((t) => parseTag(t).ref),
      Layers: img.layers.map((l) => blobPath(l.digest)),
    },
  ];
  files.push(bytesFile('manifest.json', JSON.stringify(manifestJson)));
  await writeAtomically(dest, archive(files));
  return { manifestDigest };
}

/**
 * `type=local,dest=DIR`: the image's filesystem, every layer applied in order (whiteouts delete). Each layer's
 * digest and diff ID are verified against the descriptor and the config.
 */
export async function exportLocal(img: ExportImage, dest: string): Promise<void> {
  const config = parseConfig(img.config);
  if (config.rootfs.diff_ids.length !== img.layers.length) {
    throw new TsbuildError(
      'export/bad-config',
      `image config lists ${config.rootfs.diff_ids.length} diff_ids but the manifest has ${img.layers.length} layers`,
    );
  }
  await mkdir(dest, { recursive: true });
  for (const [i, l] of img.layers.entries()) {
    let diffId: Digest;
    try {
      ({ diffId } = await applyLayer({
        blob: Readable.from(verifiedBlob(img.blobSource, l)),
        mediaType: l.mediaType,
        dest,
        mode: 'plain',
      }));
    } catch (e) {
      // A corrupt blob usually breaks decompression or tar parsing before the digest check at its end; report the
      // root cause (the blob does not match its digest) rather than the symptom.
      if (!(e instanceof TsbuildError && e.code === 'export/blob-mismatch')) {
        for await (const _ of verifiedBlob(img.blobSource, l));
      }
      throw e;
    }
    if (diffId !== config.rootfs.diff_ids[i]) {
      throw new TsbuildError(
        'export/blob-mismatch',
        `layer ${i} (${l.digest}) uncompresses to ${diffId}, but the config says ${config.rootfs.diff_ids[i]}`,
      );
    }
  }
}

/** `type=tar,dest=FILE.tar`: the image's filesystem as one uncompressed tar. */
export async function exportFsTar(img: ExportImage, dest: string, opts: { sourceDateEpoch?: number } = {}): Promise<void> {
  const abs = path.resolve(dest);
  await mkdir(path.dirname(abs), { recursive: true });
  // Assembled beside dest rather than in os.tmpdir(), which is often a small tmpfs.
  const work = await mkdtemp(path.join(path.dirname(abs), `.${path.basename(abs)}.rootfs-`));
  try {
    await exportLocal(img, work);
    await writeTarFromDir(work, abs, {
      compression: 'none',
      ...(opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: opts.sourceDateEpoch } : {}),
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

