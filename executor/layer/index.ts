/**
 * Layers: overlayfs upperdir or plain directory → OCI layer blob (`writeLayer`, `writeTarFromDir`), and layer blob →
 * snapshot directory (`applyLayer`). Plain functions over paths and streams; no dependency on the content store.
 */
export { writeLayer, writeTarFromDir, type LayerBlob, type WriteLayerOptions, type WriteTarOptions } from './write-layer.ts';
export { applyLayer, cleanEntryName, type ApplyLayerOptions, type ApplyLayerResult } from './apply.ts';
export {
  MEDIA_TYPE_LAYER,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_ZSTD,
  compressionOfMediaType,
  layerMediaType,
  type Compression,
} from './compression.ts';
export { readTar, encodeHeader, type TarEntry, type TarHeader, type TarEntryType } from './tar-format.ts';
export { tarDirectory, WHITEOUT_PREFIX, OPAQUE_MARKER, type WalkOptions } from './walk.ts';
