/**
 * The content store: one directory (see cache/README.md for the layout) holding blobs, snapshots, the image index,
 * the cache index, build records, locks and the stat cache. Every API takes the root explicitly.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { canonicalJson, isDigest, type Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import type { ImageConfig } from '../compiler/graph.ts';
import { writeFileAtomic } from './atomic.ts';
import { BlobStore, ingestName, storePaths, type StorePaths } from './blobs.ts';
import { BuildRecords, CacheIndex, ImageIndex } from './indexes.ts';
import { acquireLock, ownerAlive, selfOwner, type LockOptions, type LockOwner, type Release } from './lock.ts';
import { SnapshotStore } from './snapshots.ts';
import { MediaType, type Descriptor, type ImageManifest } from './types.ts';
import { normalizeImageName } from './image-name.ts';
import { randomBytes } from 'node:crypto';
import { unlink } from 'node:fs/promises';

/** `TSBUILD_ROOT`, else `/var/lib/tsbuild` for root, else `$XDG_DATA_HOME/tsbuild` (default `~/.local/share`). Same rule as cli/store-root.ts. */
export function defaultStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSBUILD_ROOT) return env.TSBUILD_ROOT;
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/tsbuild';
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'tsbuild');
}

/** An image as stored: manifest + config and their digests. `name` is set when looked up by name. */
export interface StoredImage {
  readonly name?: string;
  readonly manifest: ImageManifest;
  readonly config: ImageConfig;
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
}

export interface Store {
  readonly root: string;
  readonly paths: StorePaths;
  readonly blobs: BlobStore;
  readonly snapshots: SnapshotStore;
  readonly images: ImageIndex;
  readonly cacheIndex: CacheIndex;
  readonly records: BuildRecords;
  /** A fresh path in ingest/ (same filesystem as blobs/, so `blobs.ingest` is a rename). Not created. */
  tempFile(prefix: string): string;
  /** A fresh, created, empty directory in ingest/. */
  tempDir(prefix: string): Promise<string>;
  /** An exclusive inter-process lock; per-key names (`step:<cacheKey>`) make same-key builds wait for each other. */
  lock(name: string, opts?: LockOptions): Promise<Release>;
  /**
   * A lease protects objects this process creates from a concurrent `prune` until released: GC keeps every
   * blob/snapshot/entry newer than the oldest live lease. A build holds one for its whole run.
   */
  lease(purpose: string): Promise<Release>;
  /** Writes config + manifest (canonical JSON) for layers already in the store; does not tag. */
  putImage(image: { config: ImageConfig; layers: readonly Descriptor[]; annotations?: Readonly<Record<string, string>> }): Promise<{ manifestDigest: Digest; configDigest: Digest; manifest: ImageManifest }>;
  /**
   * Resolves a name (`alpine`, `me/app:1`), a manifest digest, a config digest (image ID) or a unique image-ID
   * prefix (≥ 4 hex, with or without `sha256:`) among tagged images. Throws `image/not-found`.
   */
  getImage(ref: string): Promise<StoredImage>;
  /** Like getImage, but undefined instead of `image/not-found` (other errors, e.g. a corrupt blob, still throw). */
  findImage(ref: string): Promise<StoredImage | undefined>;
  /** Tags a stored manifest: `images.set` after checking the manifest is present. */
  tagImage(name: string, manifestDigest: Digest): Promise<void>;
}

const LAYOUT = '{"imageLayoutVersion":"1.0.0"}';

/** Opens (creating if needed) the store at `root`. Cheap: a few mkdirs. */
export async function openStore(root: string): Promise<Store> {
  const paths = storePaths(root);
  try {
    for (const d of [paths.blobs, paths.ingest, paths.snapshots, paths.images, paths.cache, paths.records, paths.locks, paths.leases, paths.statcache]) {
      await mkdir(d, { recursive: true });
    }
    const layoutFile = join(root, 'oci-layout');
    const cur = await readFile(layoutFile, 'utf8').catch(() => undefined);
    if (cur === undefined) await writeFileAtomic(layoutFile, LAYOUT);
  } catch (e) {
    throw new TsbuildError('store/unavailable', `cannot open the store at ${root}: ${(e as Error).message}`, {
      cause: e,
      suggestion: 'set TSBUILD_ROOT to a writable directory',
    });
  }
  return new StoreImpl(paths);
}

class StoreImpl implements Store {
  readonly root: string;
  readonly paths: StorePaths;
  readonly blobs: BlobStore;
  readonly snapshots: SnapshotStore;
  readonly images: ImageIndex;
  readonly cacheIndex: CacheIndex;
  readonly records: BuildRecords;

  constructor(paths: StorePaths) {
    this.root = paths.root;
    this.paths = paths;
    this.blobs = new BlobStore(paths);
    this.snapshots = new SnapshotStore(paths);
    this.images = new ImageIndex(paths);
    this.cacheIndex = new CacheIndex(paths, this.blobs);
    this.records = new BuildRecords(paths);
  }

  tempFile(prefix: string): string {
    return ingestName(this.paths, prefix);
  }

  async tempDir(prefix: string): Promise<string> {
    const d = ingestName(this.paths, prefix);
    await mkdir(d, { mode: 0o700 });
    return d;
  }

  lock(name: string, opts?: LockOptions): Promise<Release> {
    return acquireLock(this.paths.locks, name, opts);
  }

  async lease(purpose: string): Promise<Release> {
    const file = join(this.paths.leases, `${process.pid}.${randomBytes(4).toString('hex')}.json`);
    await writeFile(file, JSON.stringify(selfOwner(purpose)));
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await unlink(file).catch(() => {});
    };
  }

  async putImage(image: { config: ImageConfig; layers: readonly Descriptor[]; annotations?: Readonly<Record<string, string>> }) {
    const diffIds = image.config.rootfs.diff_ids;
    if (diffIds.length !== image.layers.length) {
      throw new TsbuildError('store/bad-image', `image config lists ${diffIds.length} diff_ids but ${image.layers.length} layers were given`);
    }
    for (const l of image.layers) {
      if (!(await this.blobs.has(l.digest))) throw new TsbuildError('store/blob-not-found', `layer ${l.digest} is not in the store`);
    }
    const configBytes = canonicalJson(image.config);
    const configDigest = await this.blobs.putBytes(configBytes);
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.manifest,
      config: { mediaType: MediaType.config, digest: configDigest, size: Buffer.byteLength(configBytes) },
      layers: image.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.annotations ? { annotations: l.annotations } : {}) })),
      ...(image.annotations ? { annotations: image.annotations } : {}),
    };
    const manifestDigest = await this.blobs.putBytes(canonicalJson(manifest));
    return { manifestDigest, configDigest, manifest };
  }

  async findImage(ref: string): Promise<StoredImage | undefined> {
    try {
      return await this.getImage(ref);
    } catch (e) {
      if (e instanceof TsbuildError && e.code === 'image/not-found') return undefined;
      throw e;
    }
  }

  async tagImage(name: string, manifestDigest: Digest): Promise<void> {
    if (!(await this.blobs.has(manifestDigest))) throw new TsbuildError('store/blob-not-found', `manifest ${manifestDigest} is not in the store`);
    await this.images.set(name, manifestDigest);
  }

  async getImage(ref: string): Promise<StoredImage> {
    const loadManifest = async (manifestDigest: Digest, name?: string): Promise<StoredImage> => {
      const manifest = await this.blobs.readJson<ImageManifest>(manifestDigest);
      if (!manifest.config || !isDigest(manifest.config.digest)) throw new TsbuildError('store/bad-image', `blob ${manifestDigest} is not an image manifest`);
      const config = await this.blobs.readJson<ImageConfig>(manifest.config.digest);
      return { ...(name !== undefined ? { name } : {}), manifest, config, manifestDigest, configDigest: manifest.config.digest };
    };
    const idLike = /^(sha256:)?[0-9a-f]{4,64}$/.test(ref);
    if (idLike) {
      const hex = ref.replace(/^sha256:/, '');
      if (isDigest(`sha256:${hex}`) && (await this.blobs.has(`sha256:${hex}` as Digest))) {
        // A full digest: a manifest, or an image ID (config digest) of some tagged image.
        const d = `sha256:${hex}` as Digest;
        const text = Buffer.from(await this.blobs.readBytes(d)).toString('utf8');
        try {
          const j = JSON.parse(text) as { schemaVersion?: number; config?: unknown };
          if (j.schemaVersion === 2 && j.config) return await loadManifest(d);
        } catch {
          /* not JSON: fall through */
        }
      }
      const matches = new Map<string, StoredImage>();
      for (const e of await this.images.list()) {
        const img = await loadManifest(e.manifestDigest, e.name).catch(() => undefined);
        if (img && (img.configDigest.slice(7).startsWith(hex) || img.manifestDigest.slice(7).startsWith(hex))) matches.set(img.manifestDigest, img);
      }
      if (matches.size === 1) return [...matches.values()][0]!;
      if (matches.size > 1) throw new TsbuildError('image/ambiguous', `image ID prefix "${ref}" matches ${matches.size} images`);
      if (ref.startsWith('sha256:')) throw new TsbuildError('image/not-found', `no such image: ${ref}`);
    }
    let canon: string;
    try {
      canon = normalizeImageName(ref);
    } catch (e) {
      if (idLike) throw new TsbuildError('image/not-found', `no such image: ${ref}`);
      throw e;
    }
    const entry = await this.images.get(canon);
    if (!entry) throw new TsbuildError('image/not-found', `no such image: ${ref}`);
    return loadManifest(entry.manifestDigest, entry.name);
  }
}

/** Live leases (GC protects everything newer than the oldest). */
export async function liveLeases(paths: StorePaths): Promise<LockOwner[]> {
  const out: LockOwner[] = [];
  for (const f of await readdir(paths.leases).catch(() => [] as string[])) {
    const p = join(paths.leases, f);
    try {
      const o = JSON.parse(await readFile(p, 'utf8')) as LockOwner;
      if (ownerAlive(o)) out.push(o);
      else await unlink(p).catch(() => {});
    } catch {
      // Half-written lease (crash between create and write): it protects nothing once its writer is gone.
      const st = await stat(p).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 60_000) await unlink(p).catch(() => {});
    }
  }
  return out;
}
