/**
 * Opens an image for `tsbuild diff` / `tsbuild analyze` from wherever it lives: the content store (a name, image
 * ID or digest), an OCI layout directory, or an OCI / docker-archive tar. Archives are indexed by reading their
 * tar headers only (positional reads, bodies skipped), and each layer is streamed straight out of the archive
 * file: nothing is extracted and memory does not grow with the image.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../cache/index.ts';
import type { Descriptor, ImageManifest } from '../cache/types.ts';
import type { ImageConfig } from '../compiler/graph.ts';
import { isDigest, type Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';

/** An image whose layers can be streamed, whatever its origin. */
export interface ImageHandle {
  /** What the user named (`alpine`, `oci-archive:img.tar`). */
  readonly label: string;
  /** Where it came from. */
  readonly origin: 'store' | 'oci-layout' | 'oci-archive' | 'docker-archive';
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  /** sha256 of the config blob (the image ID). */
  readonly configDigest: string;
  readonly manifestDigest?: string;
  /** The (possibly compressed) blob of layer `i` (0-based, base first), streamed. */
  openLayer(i: number): AsyncIterable<Uint8Array>;
}

/** Dependencies: the store is opened lazily, only when a reference names something in it. */
export interface OpenImageDeps {
  readonly store: () => Promise<Store>;
  /** Resolves relative paths. */
  readonly cwd: string;
  /**
   * Pulls a registry reference into the store and returns the name it is stored under (the CLI wires
   * registry/pull). Without it, `docker://` references are refused.
   */
  readonly pull?: (ref: string) => Promise<string>;
}

/**
 * Opens `ref`: `oci-archive:PATH`, `docker-archive:PATH`, `oci:DIR`, an existing `.tar` file or OCI layout directory
 * (kind detected from its contents), `docker://REF` (pulled into the store first, through `deps.pull`), else an
 * image in the store. Without `deps.pull`, registry references fail with `diff/registry-unsupported`.
 */
export async function openImage(ref: string, deps: OpenImageDeps): Promise<ImageHandle> {
  const m = /^(oci-archive|docker-archive|oci|docker):(.*)$/.exec(ref);
  if (m && m[1] === 'docker' && deps.pull) {
    const name = await deps.pull(m[2]!.replace(/^\/\//, ''));
    const opened = await openImage(name, { store: deps.store, cwd: deps.cwd });
    return { ...opened, label: ref };
  }
  if (m && m[1] === 'docker') {
    throw new TsbuildError('diff/registry-unsupported', `cannot read "${ref}": registry references are not supported yet`, {
      suggestion: 'pull the image into the store first, or export it with "skopeo copy docker://… oci-archive:img.tar"',
    });
  }
  if (m) {
    const path = join(m[2]!.startsWith('/') ? '' : deps.cwd, m[2]!);
    if (m[1] === 'oci') return openLayoutDir(ref, path);
    return openArchive(ref, path, m[1] as 'oci-archive' | 'docker-archive');
  }
  const path = join(ref.startsWith('/') ? '' : deps.cwd, ref);
  if ((ref.includes('/') || ref.endsWith('.tar')) && existsSync(path)) {
    if (statSync(path).isDirectory()) return openLayoutDir(ref, path);
    return openArchive(ref, path, undefined);
  }
  const store = await deps.store();
  const img = await store.getImage(ref);
  return {
    label: ref,
    origin: 'store',
    manifest: img.manifest,
    config: img.config,
    configDigest: img.configDigest,
    manifestDigest: img.manifestDigest,
    openLayer(i) {
      const d = img.manifest.layers[i];
      if (!d) throw new RangeError(`layer ${i} out of range`);
      return store.blobs.openRead(d.digest);
    },
  };
}

function bad(ref: string, why: string): TsbuildError {
  return new TsbuildError('diff/bad-image', `cannot read image "${ref}": ${why}`);
}

function blobPath(d: string): string {
  if (!isDigest(d)) throw new TsbuildError('diff/bad-image', `invalid digest ${JSON.stringify(d)}`);
  return `blobs/${d.replace(':', '/')}`;
}

/** Picks the image manifest from an OCI index, following nested indexes; prefers the native platform. */
async function pickManifest(ref: string, index: { manifests?: Descriptor[] }, read: (p: string) => Promise<Buffer>): Promise<{ manifest: ImageManifest; digest: string }> {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  for (let depth = 0; depth < 4; depth++) {
    const ms = index.manifests ?? [];
    if (ms.length === 0) throw bad(ref, 'the index lists no manifests');
    const pick =
      ms.find((d) => (d as Descriptor & { platform?: { architecture?: string } }).platform?.architecture === arch) ?? ms[0]!;
    const doc = JSON.parse((await read(blobPath(pick.digest))).toString('utf8')) as ImageManifest & { manifests?: Descriptor[] };
    if (doc.manifests) {
      index = doc;
      continue;
    }
    if (!doc.config || !Array.isArray(doc.layers)) throw bad(ref, `${pick.digest} is not an image manifest`);
    return { manifest: doc, digest: pick.digest };
  }
  throw bad(ref, 'indexes nested too deeply');
}

/** An image in OCI layout form (a directory or an archive of one): index.json → manifest → config and layers. */
async function ociImage(
  ref: string,
  origin: 'oci-layout' | 'oci-archive',
  read: (p: string) => Promise<Buffer>,
  openBlob: (p: string) => ReturnType<ImageHandle['openLayer']>,
): Promise<ImageHandle> {
  const index = JSON.parse((await read('index.json')).toString('utf8')) as { manifests?: Descriptor[] };
  const { manifest, digest } = await pickManifest(ref, index, read);
  const config = JSON.parse((await read(blobPath(manifest.config.digest))).toString('utf8')) as ImageConfig;
  return {
    label: ref,
    origin,
    manifest,
    config,
    configDigest: manifest.config.digest,
    manifestDigest: digest,
    openLayer(i) {
      const d = manifest.layers[i];
      if (!d) throw new RangeError(`layer ${i} out of range`);
      return openBlob(blobPath(d.digest));
    },
  };
}

async function openLayoutDir(ref: string, dir: string): Promise<ImageHandle> {
  const read = (p: string): Promise<Buffer> =>
    readFile(join(dir, p)).catch((e: unknown) => {
      throw bad(ref, `${p}: ${(e as Error).message}`);
    });
  return await ociImage(ref, 'oci-layout', read, (p) => createReadStream(join(dir, p)));
}

interface ArchiveMember {
  /** Byte offset of the body in the archive. */
  readonly offset: number;
  readonly size: number;
}

/** Lists an uncompressed tar's regular files by reading headers only (bodies are skipped with positional reads). */
async function indexTar(fh: FileHandle, ref: string): Promise<Map<string, ArchiveMember>> {
  const out = new Map<string, ArchiveMember>();
  const total = (await fh.stat()).size;
  const block = Buffer.alloc(512);
  let pos = 0;
  let paxPath: string | undefined;
  let longName: string | undefined;
  const str = (b: Buffer, off: number, len: number): string => {
    const s = b.subarray(off, off + len);
    const nul = s.indexOf(0);
    return s.subarray(0, nul === -1 ? len : nul).toString('utf8');
  };
  const num = (b: Buffer, off: number, len: number): number => {
    if ((b[off]! & 0x80) !== 0) {
      let v = 0;
      for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
      return v;
    }
    const s = str(b, off, len).trim();
    return s === '' ? 0 : parseInt(s, 8);
  };
  while (pos + 512 <= total) {
    const { bytesRead } = await fh.read(block, 0, 512, pos);
    if (bytesRead < 512) break;
    if (block.every((x) => x === 0)) break;
    const size = num(block, 124, 12);
    if (!Number.isFinite(size)) throw bad(ref, `corrupt tar header at byte ${pos}`);
    const flag = String.fromCharCode(block[156]!);
    const bodyAt = pos + 512;
    pos = bodyAt + Math.ceil(size / 512) * 512;
    if (flag === 'x' || flag === 'L') {
      const body = Buffer.alloc(size);
      await fh.read(body, 0, size, bodyAt);
      if (flag === 'L') longName = str(body, 0, size);
      else {
        for (const rec of body.toString('utf8').split('\n')) {
          const m = /^\d+ path=(.*)$/.exec(rec);
          if (m) paxPath = m[1];
        }
      }
      continue;
    }
    let name = str(block, 0, 100);
    if (block.subarray(257, 262).toString('latin1') === 'ustar') {
      const prefix = str(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    name = (paxPath ?? longName ?? name).replace(/^\.\//, '');
    paxPath = undefined;
    longName = undefined;
    if (flag === '0' || flag === '\0') out.set(name, { offset: bodyAt, size });
  }
  return out;
}

async function openArchive(ref: string, path: string, kind: 'oci-archive' | 'docker-archive' | undefined): Promise<ImageHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw bad(ref, (e as Error).message);
  }
  try {
    const members = await indexTar(fh, ref);
    const read = async (name: string): Promise<Buffer> => {
      const m = members.get(name);
      if (!m) throw bad(ref, `the archive has no ${name}`);
      const b = Buffer.alloc(m.size);
      await fh.read(b, 0, m.size, m.offset);
      return b;
    };
    const stream = (name: string): AsyncIterable<Uint8Array> => {
      const m = members.get(name);
      if (!m) throw bad(ref, `the archive has no ${name}`);
      return m.size === 0 ? Readable0() : createReadStream(path, { start: m.offset, end: m.offset + m.size - 1 });
    };
    const useDocker = kind === 'docker-archive' || (kind === undefined && !members.has('index.json') && members.has('manifest.json'));
    if (!useDocker) {
      if (!members.has('index.json')) throw bad(ref, 'not an OCI archive (no index.json) nor a docker archive (no manifest.json)');
      return await ociImage(ref, 'oci-archive', read, stream);
    }
    const dm = JSON.parse((await read('manifest.json')).toString('utf8')) as Array<{ Config: string; Layers: string[] }>;
    const first = dm[0];
    if (!first || typeof first.Config !== 'string' || !Array.isArray(first.Layers)) throw bad(ref, 'manifest.json lists no image');
    const configBytes = await read(first.Config);
    const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
    const { createHash } = await import('node:crypto');
    const configDigest = `sha256:${createHash('sha256').update(configBytes).digest('hex')}` as Digest;
    const layers: Descriptor[] = first.Layers.map((l, i) => {
      const fromPath = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(l);
      return {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar',
        digest: (fromPath ? `sha256:${fromPath[1]}` : (config.rootfs.diff_ids[i] ?? '')) as Digest,
        size: members.get(l)?.size ?? 0,
      };
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: configBytes.length },
      layers,
    };
    return {
      label: ref,
      origin: 'docker-archive',
      manifest,
      config,
      configDigest,
      openLayer(i) {
        const l = first.Layers[i];
        if (l === undefined) throw new RangeError(`layer ${i} out of range`);
        return stream(l);
      },
    };
  } finally {
    // Everything needed later is read through fresh streams by path; the header index holds no open handle.
    await fh.close();
  }
}

async function* Readable0(): AsyncGenerator<Uint8Array> {
  // An empty member: nothing to stream.
}
