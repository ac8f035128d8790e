import { rm } from 'node:fs/promises';
import type { LayerRef, Store, StoredImage } from '../cache/index.ts';
import { TsbuildError } from '../util/errors.ts';

/**
 * The directory holding a layer's unpacked tree in overlay form (an overlay lowerdir), keyed by its diffID, unpacked
 * from its blob on first use. Concurrent callers may both unpack; the snapshot store keeps the first commit.
 */
export async function layerSnapshot(store: Store, layer: LayerRef): Promise<string> {
  const id = `diff:${layer.diffId}`;
  const have = await store.snapshots.get(id);
  if (have) return have;
  const prep = await store.snapshots.prepare(id);
  try {
    await rm(prep.dir, { recursive: true, force: true });
    // The layer reader (tar-stream, decompressors) loads only when a snapshot is actually missing.
    const { applyLayer } = await import('./layer/index.ts');
    await applyLayer({ blob: store.blobs.path(layer.digest), mediaType: layer.mediaType, dest: prep.dir, mode: 'overlay' });
    return await prep.commit({ diffId: layer.diffId, digest: layer.digest });
  } catch (e) {
    await prep.abort();
    throw e;
  }
}

/** An image's layers as LayerRefs (manifest descriptors paired with the config's diff_ids), base first. */
export function imageLayers(img: StoredImage, name: string): LayerRef[] {
  const diffIds = img.config.rootfs.diff_ids;
  if (diffIds.length !== img.manifest.layers.length)
    throw new TsbuildError('image/bad-image', `image ${name} has ${img.manifest.layers.length} layers but ${diffIds.length} diff_ids`);
  return img.manifest.layers.map((l, i) => ({ digest: l.digest, diffId: diffIds[i]!, size: l.size, mediaType: l.mediaType }));
}
