/**
 * Image assembly: the config blob and the manifest, both as canonical JSON so that equal inputs give byte-identical
 * blobs (and so equal digests and image IDs).
 */
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../../compiler/graph.ts';
import { canonicalJson, digestOf, type Digest } from '../../util/digest.ts';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';

/** An OCI content descriptor. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  /** Blob size in bytes. */
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

/** A JSON blob together with its exact bytes and digest. */
export interface JsonBlob<T> {
  readonly value: T;
  readonly bytes: Buffer;
  readonly digest: Digest;
  readonly size: number;
}

/** One history step added on top of the base image. */
export interface NewHistoryEntry {
  /** E.g. `RUN /bin/sh -c make` (BuildKit adds ` # buildkit` as a comment instead). */
  readonly createdBy: string;
  readonly comment?: string;
  /** The diff ID of the layer this step made; absent for metadata-only steps (recorded as `empty_layer`). */
  readonly diffId?: Digest;
}

export interface BuildImageConfigOptions {
  /** The container config to store (already computed by the compiler); default: the base's. */
  readonly config?: ContainerConfig;
  /** Steps on top of the base, in order. Each with a `diffId` appends to `rootfs.diff_ids`. */
  readonly history?: readonly NewHistoryEntry[];
  /** Seconds since the epoch; when set it is the `created` time of the image and of every new history entry. */
  readonly sourceDateEpoch?: number;
  /** The creation time when no sourceDateEpoch is given; default: now. */
  readonly now?: Date;
  readonly author?: string;
  readonly architecture?: string;
  readonly os?: string;
  readonly variant?: string;
}

function toJsonBlob<T>(value: T): JsonBlob<T> {
  const bytes = Buffer.from(canonicalJson(value), 'utf8');
  return { value, bytes, digest: digestOf(bytes), size: bytes.length };
}

/**
 * The image config for a stage: `base` with the new history and layers appended. The image ID is the returned
 * `digest` (sha256 of the config bytes).
 */
export function buildImageConfig(base: ImageConfig, opts: BuildImageConfigOptions = {}): JsonBlob<ImageConfig> {
  const created =
    opts.sourceDateEpoch !== undefined
      ? new Date(opts.sourceDateEpoch * 1000).toISOString().replace('.000Z', 'Z')
      : (opts.now ?? new Date()).toISOString();
  const newHistory: HistoryEntry[] = (opts.history ?? []).map((h) => ({
    created,
    created_by: h.createdBy,
    ...(h.comment !== undefined ? { comment: h.comment } : {}),
    ...(h.diffId === undefined ? { empty_layer: true } : {}),
  }));
  const diffIds = [...base.rootfs.diff_ids, ...(opts.history ?? []).flatMap((h) => (h.diffId ? [h.diffId] : []))];
  const variant = opts.variant ?? base.variant;
  const config: ImageConfig = {
    architecture: opts.architecture ?? base.architecture,
    os: opts.os ?? base.os,
    ...(variant !== undefined ? { variant } : {}),
    created,
    ...((opts.author ?? base.author) !== undefined ? { author: opts.author ?? base.author } : {}),
    config: opts.config ?? base.config,
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: [...(base.history ?? []), ...newHistory],
  };
  return toJsonBlob(config);
}

/** Re-encodes an existing config value canonically (e.g. a config assembled elsewhere). */
export function encodeImageConfig(config: ImageConfig): JsonBlob<ImageConfig> {
  return toJsonBlob(config);
}

/** The OCI image manifest document. */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: typeof MEDIA_TYPE_MANIFEST;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The manifest for a config blob and its layers (base layer first). */
export function buildManifest(
  configDigest: Digest,
  configSize: number,
  layers: readonly Descriptor[],
  annotations?: Readonly<Record<string, string>>,
): JsonBlob<ImageManifest> {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: configSize },
    layers: layers.map((l) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      ...(l.annotations ? { annotations: l.annotations } : {}),
    })),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  return toJsonBlob(manifest);
}

/** An empty base for `FROM scratch`. */
export function scratchConfig(architecture: string, os = 'linux', variant?: string): ImageConfig {
  return {
    architecture,
    os,
    ...(variant !== undefined ? { variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}
