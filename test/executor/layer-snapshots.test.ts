/**
 * Layer snapshots are found by diff ID, so unpacking one checks that the layer really has the diff ID its image (or
 * an imported cache entry) claims: a lying config must not plant a tree that other images would then reuse.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../cache/store.ts';
import { layerSnapshot } from '../../executor/layer-snapshots.ts';
import { writeLayer } from '../../executor/layer/write-layer.ts';
import { digestOf } from '../../util/digest.ts';
import { TsbuildError } from '../../util/errors.ts';
import { tempStore } from '../cache/helpers.ts';

let store: Store;
let work: string;
const cleanups: (() => void)[] = [];
beforeEach(async () => {
  const s = await tempStore();
  store = s.store;
  work = mkdtempSync(join(os.tmpdir(), 'tsb-layer-snap-'));
  cleanups.push(s.cleanup, () => rmSync(work, { recursive: true, force: true }));
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

async function storedLayer(content: string): Promise<{ digest: `sha256:${string}`; diffId: `sha256:${string}`; size: number; mediaType: string }> {
  const upper = join(work, `upper-${content}`);
  mkdirSync(upper);
  writeFileSync(join(upper, 'file.txt'), content);
  const out = join(work, `layer-${content}`);
  const blob = await writeLayer({ upperDir: upper, out, compression: 'gzip' });
  await store.blobs.ingest(out, blob.digest);
  return { digest: blob.digest, diffId: blob.diffId, size: blob.size, mediaType: blob.mediaType };
}

describe('layerSnapshot', () => {
  it('unpacks a layer under its diff ID', async () => {
    const layer = await storedLayer('real');
    const dir = await layerSnapshot(store, layer);
    expect(readFileSync(join(dir, 'file.txt'), 'utf8')).toBe('real');
    expect(await layerSnapshot(store, layer)).toBe(dir);
  });

  it('refuses a layer whose claimed diff ID is not its own, and keeps nothing under that ID', async () => {
    const layer = await storedLayer('evil');
    const claimed = digestOf('some other layer');
    const err = await layerSnapshot(store, { ...layer, diffId: claimed }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('image/diffid-mismatch');
    expect(await store.snapshots.get(`diff:${claimed}`)).toBeUndefined();
    // the layer itself is fine under its real diff ID
    expect(readFileSync(join(await layerSnapshot(store, layer), 'file.txt'), 'utf8')).toBe('evil');
  });
});
