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
    const { diffId } = await applyLayer({ blob: store.blobs.path(layer.digest), mediaType: layer.mediaType, dest: prep.dir, mode: 'overlay' });
    // The snapshot is found by diff ID from now on, by any image or cache entry naming it: a config (pulled, or from
    // an imported cache) whose diff_id does not describe its layer must not plant a tree under another layer's name.
    if (diffId !== layer.diffId) {
      throw new TsbuildError('image/diffid-mismatch', `layer ${layer.digest} unpacks to ${diffId}, but its image says diff_id ${layer.diffId}`, {
        suggestion: 'the image or cache is corrupt or was tampered with; remove it (tsbuild rmi) and pull or build it again',
      });
    }
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
