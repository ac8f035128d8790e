import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readdirSync, writeFileSync, mkdirSync, utimesSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Store } from '../../cache/store.ts';
import { fsck, prune, diskUsage } from '../../cache/gc.ts';
import { MediaType } from '../../cache/types.ts';
import { digestOf, type Digest } from '../../util/digest.ts';
import { TsbuildError } from '../../util/errors.ts';
import { normalizeImageName, familiarName } from '../../cache/image-name.ts';
import { putTestImage, tempStore } from './helpers.ts';

let store: Store;
let cleanup: () => void;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
});
afterEach(() => cleanup());

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof TsbuildError) return e.code;
    throw e;
  }
  return 'no error';
};

describe('layout', () => {
  it('is an OCI image layout with the documented folders', () => {
    expect(readdirSync(store.root).sort()).toEqual(['blobs', 'cache', 'images', 'ingest', 'leases', 'locks', 'oci-layout', 'records', 'snapshots', 'statcache']);
    expect(readdirSync(join(store.root, 'blobs'))).toEqual(['sha256']);
  });
});

describe('blobs', () => {
  it('store bytes under their sha256 and read them back verified', async () => {
    const d = await store.blobs.putBytes('hello');
    expect(d).toBe(digestOf('hello'));
    expect(existsSync(join(store.root, 'blobs/sha256', d.slice(7)))).toBe(true);
    expect(Buffer.from(await store.blobs.readBytes(d)).toString()).toBe('hello');
    expect(await store.blobs.size(d)).toBe(5);
    expect(await store.blobs.putBytes('hello')).toBe(d); // idempotent
  });

  it('ingest a temp file, and reject a wrong expected digest without storing anything', async () => {
    const tmp = store.tempFile('layer');
    writeFileSync(tmp, 'layer bytes');
    const wrong = digestOf('something else');
    expect(await codeOf(store.blobs.ingest(tmp, wrong))).toBe('store/digest-mismatch');
    expect(await store.blobs.has(digestOf('layer bytes'))).toBe(false);
    expect(await store.blobs.has(wrong)).toBe(false);
    expect(existsSync(tmp)).toBe(false);
    expect(readdirSync(join(store.root, 'blobs/sha256'))).toEqual([]);
    const tmp2 = store.tempFile('layer');
    writeFileSync(tmp2, 'layer bytes');
    expect(await store.blobs.ingest(tmp2, digestOf('layer bytes'))).toEqual({ digest: digestOf('layer bytes'), size: 11 });
    expect(await codeOf(store.blobs.putBytes('x', digestOf('y')))).toBe('store/digest-mismatch');
  });

  it('stream in with verification', async () => {
    async function* chunks() {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    expect((await store.blobs.putStream(chunks())).digest).toBe(digestOf('abcd'));
    expect(await codeOf(store.blobs.putStream(chunks(), digestOf('nope')))).toBe('store/digest-mismatch');
  });

  it('detect corruption on read and in fsck', async () => {
    const d = await store.blobs.putBytes('{"a":1}');
    const p = store.blobs.path(d);
    chmodSync(p, 0o644);
    writeFileSync(p, '{"a":2}');
    expect(await codeOf(store.blobs.readJson(d))).toBe('store/corrupt-blob');
    const r = await fsck(store);
    expect(r.problems.map((x) => x.kind)).toEqual(['corrupt-blob']);
  });
});

describe('snapshots', () => {
  it('are invisible until committed, then found by id', async () => {
    const s = await store.snapshots.prepare('sha256:layer1');
    writeFileSync(join(s.dir, 'file'), 'x');
    expect(await store.snapshots.get('sha256:layer1')).toBeUndefined();
    const dir = await s.commit({ diffId: 'sha256:layer1' });
    expect(await store.snapshots.get('sha256:layer1')).toBe(dir);
    expect(existsSync(join(dir, 'file'))).toBe(true);
    expect((await store.snapshots.meta('sha256:layer1'))?.size).toBe(1);
  });

  it('abort leaves nothing; a second commit of the same id reuses the first', async () => {
    const a = await store.snapshots.prepare('k');
    await a.abort();
    expect(readdirSync(join(store.root, 'ingest'))).toEqual([]);
    const s1 = await store.snapshots.prepare('k');
    const s2 = await store.snapshots.prepare('k');
    writeFileSync(join(s1.dir, 'one'), '1');
    writeFileSync(join(s2.dir, 'two'), '2');
    const d1 = await s1.commit();
    const d2 = await s2.commit();
    expect(d2).toBe(d1);
    expect(readdirSync(d1)).toEqual(['one']);
    expect(readdirSync(join(store.root, 'ingest'))).toEqual([]);
  });

  it('a directory without a marker is never returned and fsck reports it', async () => {
    const s = await store.snapshots.prepare('real');
    await s.commit();
    mkdirSync(join(store.root, 'snapshots', 'bogus', 'fs'), { recursive: true });
    const r = await fsck(store);
    expect(r.problems.map((p) => p.kind)).toEqual(['bad-snapshot']);
  });
});

describe('images', () => {
  it('normalise names docker-style', () => {
    expect(normalizeImageName('alpine')).toBe('docker.io/library/alpine:latest');
    expect(normalizeImageName('me/app:1')).toBe('docker.io/me/app:1');
    expect(normalizeImageName('localhost:5000/app')).toBe('localhost:5000/app:latest');
    expect(normalizeImageName('index.docker.io/library/alpine:3')).toBe('docker.io/library/alpine:3');
    expect(familiarName('docker.io/library/alpine:latest')).toBe('alpine:latest');
    expect(() => normalizeImageName('Upper/Case')).toThrow(TsbuildError);
  });

  it('putImage writes canonical manifest and config; getImage resolves name, ID prefix and digest', async () => {
    const img = await putTestImage(store, 'alpine', ['layer-a', 'layer-b']);
    const manifest = await store.blobs.readJson<Record<string, unknown>>(img.manifestDigest);
    expect(manifest.mediaType).toBe(MediaType.manifest);
    expect(Buffer.from(await store.blobs.readBytes(img.manifestDigest)).toString()).not.toContain(' ');
    const byName = await store.getImage('docker.io/library/alpine:latest');
    expect(byName.configDigest).toBe(img.configDigest);
    expect((await store.getImage(img.configDigest.slice(7, 19))).manifestDigest).toBe(img.manifestDigest);
    expect((await store.getImage(img.manifestDigest)).configDigest).toBe(img.configDigest);
    expect((await store.getImage(img.configDigest)).manifestDigest).toBe(img.manifestDigest);
    expect(await codeOf(store.getImage('nothere'))).toBe('image/not-found');
    expect(await store.findImage('nothere')).toBeUndefined();
    expect(await codeOf(store.putImage({ config: { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }, layers: [{ mediaType: MediaType.layer, digest: digestOf('missing'), size: 1 }] }))).toBe('store/bad-image');
  });
});

describe('cache index and records', () => {
  it('maps keys to results and misses when a layer blob is gone', async () => {
    const layer = await store.blobs.putBytes('diff');
    const result = { layers: [{ digest: layer, diffId: layer, size: 4, mediaType: MediaType.layer }], snapshotId: 'snap', createdAt: new Date().toISOString() };
    expect(await store.cacheIndex.get('key1')).toBeUndefined();
    await store.cacheIndex.put('key1', result);
    expect(await store.cacheIndex.get('key1')).toEqual(result);
    await store.blobs.remove(layer);
    expect(await store.cacheIndex.get('key1')).toBeUndefined();
    expect(await codeOf(store.cacheIndex.put('key2', result))).toBe('store/blob-not-found');
  });

  it('records the layers a build found stored and does not check them again within that build', async () => {
    const layer = await store.blobs.putBytes('diff-present');
    const result = { layers: [{ digest: layer, diffId: layer, size: 12, mediaType: MediaType.layer }], snapshotId: 'snap', createdAt: new Date().toISOString() };
    await store.cacheIndex.put('key-present', result);
    const present = new Set<Digest>();
    expect(await store.cacheIndex.get('key-present', present)).toEqual(result);
    expect([...present]).toEqual([layer]);
    await store.blobs.remove(layer);
    // the same build trusts what it saw; a new lookup (another build) checks the store again
    expect(await store.cacheIndex.get('key-present', present)).toEqual(result);
    expect(await store.cacheIndex.get('key-present', new Set())).toBeUndefined();
    expect(await store.cacheIndex.get('key-present')).toBeUndefined();
  });

  it('writes versioned build records, listed in time order and found by prefix', async () => {
    const id1 = await store.records.write({ startedAt: '2024-01-01T00:00:00.000Z', status: 'success', steps: [{ id: 's1', description: 'RUN x', cached: false, durationMs: 5 }] });
    const id2 = await store.records.write({ startedAt: '2024-01-02T00:00:00.000Z', status: 'failed', steps: [] });
    expect((await store.records.list()).map((r) => r.id)).toEqual([id1, id2]);
    const r = await store.records.get(id1.slice(0, 20));
    expect(r.version).toBe(1);
    expect(r.steps[0]?.description).toBe('RUN x');
    expect(await codeOf(store.records.get('2024'))).toBe('store/ambiguous-record');
  });
});

describe('GC', () => {
  async function cacheEntry(key: string, content: string, snapshot?: string, ageMs = 0): Promise<Digest> {
    const d = await store.blobs.putBytes(content);
    if (snapshot) await (await store.snapshots.prepare(snapshot)).commit();
    await store.cacheIndex.put(key, { layers: [{ digest: d, diffId: d, size: content.length, mediaType: MediaType.layer }], ...(snapshot ? { snapshotId: snapshot } : {}), createdAt: new Date().toISOString() });
    if (ageMs) {
      const t = new Date(Date.now() - ageMs);
      const { createHash } = await import('node:crypto');
      const h = createHash('sha256').update(key).digest('hex');
      utimesSync(join(store.root, 'cache', h.slice(0, 2), `${h}.json`), t, t);
    }
    return d;
  }

  it('keeps tagged images and cache entries, removes unreferenced blobs, snapshots and leftovers', async () => {
    const img = await putTestImage(store, 'keep:me', ['image-layer']);
    const cached = await cacheEntry('k1', 'cached-layer', 'snap-1');
    const orphan = await store.blobs.putBytes('orphan');
    await (await store.snapshots.prepare('orphan-snap')).commit();
    const dead = join(store.root, 'ingest', 'blob.999999.abcdef');
    writeFileSync(dead, 'leftover of a killed process');
    const r = await prune(store);
    expect(r).toMatchObject({ cacheEntries: 0, blobs: 1, snapshots: 1, leftovers: 1 });
    expect(await store.blobs.has(orphan)).toBe(false);
    expect(await store.blobs.has(cached)).toBe(true);
    for (const l of img.layers) expect(await store.blobs.has(l.digest)).toBe(true);
    expect(await store.blobs.has(img.configDigest)).toBe(true);
    expect(await store.snapshots.has('snap-1')).toBe(true);
    expect(await store.snapshots.has('orphan-snap')).toBe(false);
    expect(existsSync(dead)).toBe(false);
    expect((await fsck(store)).problems).toEqual([]);
  });

  it("removes the temp files of atomic writes a killed process left beside the store's metadata, not live ones", async () => {
    await putTestImage(store, 'keep:me', ['image-layer']);
    await cacheEntry('k1', 'cached-layer', 'snap-1');
    const dead = spawnSync('true').pid!; // a process that has exited: its pid names nothing live
    const shard = readdirSync(join(store.root, 'cache'))[0]!;
    const dirs = [store.root, store.paths.images, store.paths.records, store.paths.statcache, store.paths.frontend, store.paths.distribution, join(store.paths.cache, shard)];
    const leftovers = dirs.map((d, i) => {
      mkdirSync(d, { recursive: true });
      // the name tempNameBeside gives: .<base>.tmp.<pid>.<8 hex>
      const f = join(d, `.entry-${i}.json.tmp.${dead}.0a1b2c3d`);
      writeFileSync(f, '{"half": ');
      return f;
    });
    const live = join(store.paths.images, `.x.json.tmp.${process.pid}.0a1b2c3d`);
    writeFileSync(live, 'being written');
    const notOurs = join(store.paths.images, '.notes.tmp');
    writeFileSync(notOurs, 'not a temp file of ours');
    expect((await fsck(store)).leftovers).toBe(leftovers.length);
    const dry = await prune(store, { dryRun: true });
    expect(dry.leftovers).toBe(leftovers.length);
    for (const f of leftovers) expect(existsSync(f)).toBe(true);
    const r = await prune(store);
    expect(r.leftovers).toBe(leftovers.length);
    for (const f of leftovers) expect(existsSync(f), f).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(notOurs)).toBe(true);
    expect((await fsck(store)).leftovers).toBe(0);
    expect(await store.images.get('keep:me')).toBeDefined();
  });

  it('--all drops the build cache but keeps tagged images', async () => {
    const img = await putTestImage(store, 'keep:me', ['image-layer']);
    const cached = await cacheEntry('k1', 'cached-layer', 'snap-1');
    const r = await prune(store, { all: true });
    expect(r.cacheEntries).toBe(1);
    expect(await store.cacheIndex.get('k1')).toBeUndefined();
    expect(await store.blobs.has(cached)).toBe(false);
    expect(await store.snapshots.has('snap-1')).toBe(false);
    expect((await store.getImage('keep:me')).manifestDigest).toBe(img.manifestDigest);
    expect((await fsck(store)).problems).toEqual([]);
  });

  it('--keep-storage keeps the most recently used entries within the budget', async () => {
    const old = await cacheEntry('old', 'x'.repeat(1000), undefined, 3_600_000);
    const recent = await cacheEntry('recent', 'y'.repeat(1000));
    const r = await prune(store, { keepStorage: 1500 });
    expect(r.cacheEntries).toBe(1);
    expect(await store.blobs.has(recent)).toBe(true);
    expect(await store.blobs.has(old)).toBe(false);
    expect(await store.cacheIndex.get('recent')).toBeDefined();
  });

  it('a live lease protects what was made after it', async () => {
    const release = await store.lease('build');
    const fresh = await store.blobs.putBytes('made by a running build');
    await prune(store, { all: true });
    expect(await store.blobs.has(fresh)).toBe(true);
    await release();
    await prune(store, { all: true });
    expect(await store.blobs.has(fresh)).toBe(false);
  });

  it('du splits images, build cache and unreferenced data', async () => {
    await putTestImage(store, 'a', ['L'.repeat(100)]);
    await cacheEntry('k', 'C'.repeat(200));
    await store.blobs.putBytes('U'.repeat(300));
    const u = await diskUsage(store);
    const row = (t: string) => u.rows.find((r) => r.type === t)!;
    expect(row('Images').total).toBe(1);
    expect(row('Images').reclaimable).toBe(0);
    expect(row('Build cache').total).toBe(1);
    expect(row('Build cache').size).toBeGreaterThanOrEqual(200);
    expect(row('Unreferenced')).toMatchObject({ total: 1, size: 300, reclaimable: 300 });
    rmSync(join(store.root, 'ingest'), { recursive: true });
  });

  it('fsck reports dangling references', async () => {
    const img = await putTestImage(store, 'a', ['L']);
    await cacheEntry('k', 'C', 'snap');
    await store.snapshots.remove('snap');
    await store.blobs.remove(img.layers[0]!.digest);
    const kinds = (await fsck(store)).problems.map((p) => p.kind).sort();
    expect(kinds).toEqual(['dangling-cache', 'dangling-image']);
  });
});
