/** Test helpers for the cache tests: temp stores and a small image put through the public API. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../cache/store.ts';
import { MediaType, type Descriptor } from '../../cache/types.ts';
import { digestOf, type Digest } from '../../util/digest.ts';
import type { ImageConfig } from '../../compiler/graph.ts';

export async function tempStore(): Promise<{ store: Store; root: string; cleanup: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-store-'));
  const store = await openStore(root);
  return { store, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Puts an image with the given layer contents (as uncompressed "tar" blobs) and tags it. */
export async function putTestImage(
  store: Store,
  name: string | undefined,
  layers: string[],
  extra: { created?: string; history?: ImageConfig['history'] } = {},
): Promise<{ manifestDigest: Digest; configDigest: Digest; layers: Descriptor[] }> {
  const descs: Descriptor[] = [];
  for (const l of layers) {
    const d = await store.blobs.putBytes(l);
    descs.push({ mediaType: MediaType.layer, digest: d, size: Buffer.byteLength(l) });
  }
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: extra.created ?? '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => digestOf(l)) },
    ...(extra.history ? { history: extra.history } : {}),
  };
  const r = await store.putImage({ config, layers: descs });
  if (name !== undefined) await store.images.set(name, r.manifestDigest);
  return { ...r, layers: descs };
}
