/**
 * Value types of the content store, shared by the store, the cache index, GC and the CLI commands.
 */
import type { Digest } from '../util/digest.ts';

/** OCI media types (reference §3). */
export const MediaType = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** An OCI content descriptor. `size` is in bytes. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An OCI image manifest (schemaVersion 2). Layers are base first. */
export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A layer a cached step produced. `digest` is the (possibly compressed) blob, `diffId` the sha256 of the tar. */
export interface LayerRef {
  readonly digest: Digest;
  readonly diffId: Digest;
  /** Blob size in bytes. */
  readonly size: number;
  readonly mediaType: string;
}

/**
 * What a cache key maps to: the layers the step added (empty for a step with no filesystem change), the snapshot
 * holding the step's full rootfs or its diff (orchestrator's choice, named by `snapshotId`), and any config change.
 */
export interface CacheResult {
  readonly layers: readonly LayerRef[];
  readonly snapshotId?: string;
  /** Image-config fields the step changed, when the orchestrator caches metadata steps. */
  readonly configDelta?: Readonly<Record<string, unknown>>;
  /** ISO 8601 time the result was first produced. */
  readonly createdAt: string;
  /** Free-form data the orchestrator wants back (exit code, timings...). Must be JSON. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** A cache index entry as stored, with its last-use time (ms since epoch, from the entry file's mtime). */
export interface CacheEntry {
  readonly key: string;
  readonly result: CacheResult;
  readonly lastUsedMs: number;
  /** Size of the entry file itself, bytes. */
  readonly fileSize: number;
}

/** An image index entry: a name (canonical, `docker.io/library/alpine:latest`) → manifest. */
export interface ImageIndexEntry {
  readonly name: string;
  readonly manifestDigest: Digest;
  /** ISO 8601 time of the tagging. */
  readonly taggedAt: string;
}

/** Metadata written last into a snapshot (its commit marker). */
export interface SnapshotMeta {
  readonly version: 1;
  readonly id: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Apparent size of the tree in bytes (regular files' sizes summed; directories and links not counted). */
  readonly size: number;
  readonly info?: Readonly<Record<string, unknown>>;
}

/** One step of a build record. */
export interface BuildRecordStep {
  readonly id: string;
  readonly description: string;
  readonly kind?: string;
  readonly cacheKey?: string;
  readonly definitionDigest?: string;
  readonly inputKeys?: readonly string[];
  /** Context selector digests by a label (e.g. the source patterns). */
  readonly contextDigests?: Readonly<Record<string, string>>;
  readonly cached: boolean;
  /** Not run and not in the cache: a miss that nothing the outputs need depended on (its key was still computed). */
  readonly skipped?: boolean;
  /** Ids of the steps this one takes as inputs (same order as `inputKeys`). */
  readonly inputs?: readonly string[];
  /** Where the step came from: stage name (or index as a string), 1-based line and 1-based position in the stage. */
  readonly origin?: { readonly stage: string; readonly stageIndex: number; readonly line: number; readonly instructionIndex: number };
  /**
   * The normalised definition that `definitionDigest` hashes (compiler `definitionOf`), with any value whose JSON
   * exceeds 512 bytes replaced by `{ "digest": sha256 }`, so that `tsbuild diff --builds` can name the field that
   * changed (an ENV entry, the argv, the base image digest...).
   */
  readonly definition?: unknown;
  /**
   * Per-file listing of what each context selector matched, keyed like `contextDigests`. Only for selectors with
   * fewer than 10,000 entries (the record stays small); absent otherwise.
   */
  readonly contextFiles?: Readonly<Record<string, readonly BuildRecordContextFile[]>>;
  readonly result?: CacheResult;
  /** Wall time in milliseconds. */
  readonly durationMs?: number;
  readonly error?: string;
}

/** One context entry a step read, as recorded for `tsbuild diff --builds`. */
export interface BuildRecordContextFile {
  /** Path relative to the context root, `/`-separated. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** Permission bits (`& 0o7777`). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes (regular files; 0 otherwise). */
  readonly size: number;
  readonly linkTarget?: string;
  /** Context digest of the entry alone (metadata + content, `xxh64:`), for files and symlinks. */
  readonly digest?: string;
}

/** The machine a build ran on, for explaining why two runners computed different keys. */
export interface BuildRecordHost {
  readonly hostname: string;
  /** `linux/amd64`. */
  readonly platform: string;
  readonly uid: number;
  readonly gid: number;
  /** The process umask (octal number), which decides the modes of files a checkout creates. */
  readonly umask: number;
}

/** A build record (versioned; `tsbuild diff --builds` reads them). Times are ISO 8601. */
export interface BuildRecord {
  readonly version: 1;
  /** Assigned by `records.write`: sortable by time. */
  readonly id: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  /** Absolute context directory. */
  readonly context?: string;
  readonly dockerfile?: string;
  readonly target?: string;
  readonly tags?: readonly string[];
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly platform?: string;
  readonly steps: readonly BuildRecordStep[];
  readonly image?: { readonly manifestDigest: string; readonly configDigest: string };
  readonly status: 'success' | 'failed' | 'cancelled';
  readonly error?: string;
  readonly host?: BuildRecordHost;
  /** The graph in whatever JSON form the orchestrator chooses to keep. */
  readonly graph?: unknown;
  /**
   * How much of the build context this build hashed: files whose content was read (and their bytes), and files
   * whose digest came from the stat cache. A no-op rebuild reads 0 files; after one file changed, 1.
   */
  readonly contextStats?: { readonly filesRead: number; readonly bytesRead: number; readonly statCacheHits: number };
}
