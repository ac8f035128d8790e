/**
 * Cache export/import through a directory (`--cache-to/--cache-from type=local`), on real stores: what is written,
 * what an import adds, and what it refuses.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { exportCache, importCache, CACHE_ARTIFACT_TYPE } from '../../cache/exchange.ts';
import type { Store } from '../../cache/store.ts';
import { MediaType, type CacheResult } from '../../cache/types.ts';
import { TsbuildError } from '../../util/errors.ts';
import { tempStore } from './helpers.ts';

let a: Store;
let b: Store;
let dir: string;
const cleanups: (() => void)[] = [];
beforeEach(async () => {
  const s1 = await tempStore();
  const s2 = await tempStore();
  a = s1.store;
  b = s2.store;
  dir = mkdtempSync(join(os.tmpdir(), 'tsb-cache-dir-'));
  cleanups.push(s1.cleanup, s2.cleanup, () => rmSync(dir, { recursive: true, force: true }));
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A cache entry in `store` whose chain is the given layer contents. */
async function entry(store: Store, key: string, contents: string[]): Promise<CacheResult> {
  const layers = [];
  for (const c of contents) {
    const d = await store.blobs.putBytes(c);
    layers.push({ digest: d, diffId: d, size: c.length, mediaType: MediaType.layer });
  }
  const result: CacheResult = { layers, createdAt: '2026-01-01T00:00:00.000Z', snapshotId: 'local-only', meta: { produced: true } };
  await store.cacheIndex.put(key, result);
  return result;
}

const blobNames = (): string[] => readdirSync(join(dir, 'blobs/sha256')).sort();

describe('cache exchange', () => {
  it('exports the named entries and their layers as an OCI layout, and an import makes them hits in another store', async () => {
    const r1 = await entry(a, 'k1', ['base', 'one']);
    await entry(a, 'k2', ['base', 'one', 'two']);
    await entry(a, 'other', ['unrelated']);
    expect(await exportCache(a, dir, ['k1', 'k2', 'k2', 'missing'])).toEqual({ entries: 2, blobs: 3 });
    expect(JSON.parse(readFileSync(join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    expect(index.manifests).toHaveLength(1);
    expect(index.manifests[0].artifactType).toBe(CACHE_ARTIFACT_TYPE);
    // 3 layers + the entry list + the manifest; not the unrelated layer
    expect(blobNames()).toHaveLength(5);

    expect(await b.cacheIndex.get('k1')).toBeUndefined();
    expect(await importCache(b, dir)).toEqual({ entries: 2, blobs: 3 });
    const got = await b.cacheIndex.get('k1');
    const { snapshotId: _drop, ...portable } = r1;
    expect(got).toEqual(portable);
    expect((await b.cacheIndex.get('k2'))!.layers).toHaveLength(3);
    expect(await b.cacheIndex.get('other')).toBeUndefined();
    expect(Buffer.from(await b.blobs.readBytes(got!.layers[1]!.digest)).toString()).toBe('one');
    // importing again adds nothing
    expect(await importCache(b, dir)).toEqual({ entries: 0, blobs: 0 });
  });

  it('a new export replaces the cache and removes blobs it no longer names', async () => {
    await entry(a, 'k1', ['base', 'one']);
    await exportCache(a, dir, ['k1']);
    const before = blobNames();
    await entry(a, 'k3', ['three']);
    await exportCache(a, dir, ['k3']);
    const after = blobNames();
    expect(after).toHaveLength(3);
    expect(after.filter((n) => before.includes(n))).toEqual([]);
    expect(await importCache(b, dir)).toEqual({ entries: 1, blobs: 1 });
    expect(await b.cacheIndex.get('k1')).toBeUndefined();
  });

  it('a directory with no cache imports nothing; a tampered blob is refused and its entry not added', async () => {
    expect(await importCache(b, join(dir, 'nothing-here'))).toEqual({ entries: 0, blobs: 0 });
    const r = await entry(a, 'k1', ['base', 'one']);
    await exportCache(a, dir, ['k1']);
    writeFileSync(join(dir, 'blobs/sha256', r.layers[1]!.digest.slice(7)), 'evil');
    const err = await importCache(b, dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('cache/import-failed');
    expect(await b.cacheIndex.get('k1')).toBeUndefined();
    expect(await b.blobs.has(r.layers[1]!.digest)).toBe(false);
  });

  it('refuses an index that names a path instead of a digest, and an entry list that does not match its digest', async () => {
    await entry(a, 'k1', ['base']);
    await exportCache(a, dir, ['k1']);
    const indexPath = join(dir, 'index.json');
    const index = JSON.parse(readFileSync(indexPath, 'utf8'));
    const original = index.manifests[0].digest;
    index.manifests[0].digest = 'sha256:../../../../etc/passwd';
    writeFileSync(indexPath, JSON.stringify(index));
    await expect(importCache(b, dir)).rejects.toThrow(/invalid digest/);
    index.manifests[0].digest = original;
    writeFileSync(indexPath, JSON.stringify(index));
    const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', original.slice(7)), 'utf8'));
    writeFileSync(join(dir, 'blobs/sha256', manifest.config.digest.slice(7)), JSON.stringify({ version: 1, entries: [] }));
    await expect(importCache(b, dir)).rejects.toThrow(/does not match its digest/);
    expect(existsSync(join(dir, 'index.json'))).toBe(true);
  });
});
