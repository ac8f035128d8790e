/**
 * Build cache through a directory, for CI runners that keep a directory between jobs: `--cache-to type=local,dest=DIR`
 * writes the cache entries of a build and their layer blobs, `--cache-from type=local,src=DIR` loads them into the
 * store before the next build, whose steps then hit as if they had been built here.
 *
 * DIR is an OCI image layout holding one artifact (`index.json` → a manifest with artifactType
 * `application/vnd.tsbuild.cache.v1+json`): its config blob lists the entries (cache key → result), its layers are
 * the layer blobs those results name. Blobs are written before the index that names them and the index is replaced
 * atomically, so a reader sees the old cache or the new one; blobs no longer named are removed afterwards. Imports
 * verify every blob against its digest (a manifest, the entry list and each layer), never trust a path from the
 * directory (digests are validated before they become file names) and never replace an entry the store has.
 */
import { createReadStream } from 'node:fs';
import { access, copyFile, link, mkdir, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, digestHex, digestOf, isDigest, type Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import { tempNameBeside, writeFileAtomic } from './atomic.ts';
import type { Store } from './store.ts';
import { MediaType, type CacheResult, type LayerRef } from './types.ts';

export const CACHE_ARTIFACT_TYPE = 'application/vnd.tsbuild.cache.v1+json';

/** The config blob: every exported entry. */
interface CacheList {
  readonly version: 1;
  readonly entries: readonly { readonly key: string; readonly result: CacheResult }[];
}

export interface ExchangeReport {
  /** Entries written (export) or added to the store (import). */
  readonly entries: number;
  /** Blobs copied. */
  readonly blobs: number;
}

/** Writes the store's entries for `keys` (those it has) and their layers to `dir`, replacing the cache there. */
export async function exportCache(store: Store, dir: string, keys: readonly string[]): Promise<ExchangeReport> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const entries: { key: string; result: CacheResult }[] = [];
  const layers = new Map<Digest, LayerRef>();
  for (const key of new Set(keys)) {
    const result = await store.cacheIndex.get(key);
    if (!result) continue;
    // the snapshot id names a directory of this store only
    const { snapshotId: _local, ...portable } = result;
    entries.push({ key, result: portable });
    for (const l of result.layers) layers.set(l.digest, l);
  }
  let copied = 0;
  for (const l of layers.values()) {
    const target = join(blobDir, digestHex(l.digest));
    if (await exists(target)) continue;
    const tmp = tempNameBeside(target);
    try {
      // a hard link when the directory is on the store's file system (blobs are immutable), else a copy
      await link(store.blobs.path(l.digest), tmp).catch(() => copyFile(store.blobs.path(l.digest), tmp));
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw new TsbuildError('cache/export-failed', `cannot write the cache to ${dir}: ${(e as Error).message}`);
    }
    copied++;
  }
  const list: CacheList = { version: 1, entries };
  const configBytes = canonicalJson(list);
  const config = { mediaType: CACHE_ARTIFACT_TYPE, digest: digestOf(configBytes), size: Buffer.byteLength(configBytes) };
  const manifestBytes = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    artifactType: CACHE_ARTIFACT_TYPE,
    config,
    layers: [...layers.values()].map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  });
  const manifestDigest = digestOf(manifestBytes);
  await writeFileAtomic(join(blobDir, digestHex(config.digest)), configBytes);
  await writeFileAtomic(join(blobDir, digestHex(manifestDigest)), manifestBytes);
  await writeFileAtomic(join(dir, 'oci-layout'), canonicalJson({ imageLayoutVersion: '1.0.0' }));
  await writeFileAtomic(
    join(dir, 'index.json'),
    canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.index,
      manifests: [{ mediaType: MediaType.manifest, artifactType: CACHE_ARTIFACT_TYPE, digest: manifestDigest, size: Buffer.byteLength(manifestBytes) }],
    }),
  );
  // What the new index no longer names goes (the directory holds one build's cache, not every build's).
  const keep = new Set([digestHex(config.digest), digestHex(manifestDigest), ...[...layers.keys()].map(digestHex)]);
  for (const name of await readdir(blobDir)) if (!keep.has(name)) await unlink(join(blobDir, name)).catch(() => {});
  return { entries: entries.length, blobs: copied };
}

/**
 * Loads the cache in `dir` into the store: layer blobs it lacks (verified), then the entries it has no entry for.
 * A directory without a cache is not an error (the first CI run has none): the report says 0 entries.
 */
export async function importCache(store: Store, dir: string): Promise<ExchangeReport> {
  let indexText: string;
  try {
    indexText = await readFile(join(dir, 'index.json'), 'utf8');
  } catch {
    return { entries: 0, blobs: 0 };
  }
  const bad = (why: string): TsbuildError => new TsbuildError('cache/import-failed', `${dir} is not a usable tsbuild cache: ${why}`);
  const index = parseJson(indexText, bad) as { manifests?: { digest?: unknown; artifactType?: unknown }[] };
  const desc = index.manifests?.find((m) => m.artifactType === CACHE_ARTIFACT_TYPE);
  if (!desc) throw bad('index.json names no tsbuild cache');
  const manifest = parseJson(await readVerified(dir, desc.digest, bad), bad) as { config?: { digest?: unknown } };
  const list = parseJson(await readVerified(dir, manifest.config?.digest, bad), bad) as CacheList;
  if (list.version !== 1 || !Array.isArray(list.entries)) throw bad('unknown cache version');
  let entries = 0;
  let blobs = 0;
  for (const { key, result } of list.entries) {
    if (typeof key !== 'string' || !result || !Array.isArray(result.layers)) throw bad('malformed entry');
    if (await store.cacheIndex.get(key)) continue;
    for (const l of result.layers) {
      if (!isDigest(l.digest)) throw bad(`invalid digest ${JSON.stringify(l.digest)}`);
      if (await store.blobs.has(l.digest)) continue;
      try {
        await store.blobs.putStream(createReadStream(join(dir, 'blobs', 'sha256', digestHex(l.digest))), l.digest);
      } catch (e) {
        throw bad(`layer ${l.digest}: ${(e as Error).message}`);
      }
      blobs++;
    }
    await store.cacheIndex.put(key, result);
    entries++;
  }
  return { entries, blobs };
}

/** A blob of the layout, checked against its digest. */
async function readVerified(dir: string, digest: unknown, bad: (why: string) => TsbuildError): Promise<string> {
  if (typeof digest !== 'string' || !isDigest(digest)) throw bad(`invalid digest ${JSON.stringify(digest)}`);
  let data: Buffer;
  try {
    data = await readFile(join(dir, 'blobs', 'sha256', digestHex(digest)));
  } catch (e) {
    throw bad(`missing blob ${digest}: ${(e as Error).message}`);
  }
  if (digestOf(data) !== digest) throw bad(`blob ${digest} does not match its digest`);
  return data.toString('utf8');
}

function parseJson(text: string, bad: (why: string) => TsbuildError): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}
