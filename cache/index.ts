/**
 * cache/: the content store, image/cache indexes, build records, locks, GC and build-context hashing.
 * See cache/README.md for the on-disk layout and the guarantees.
 */
export { openStore, defaultStoreRoot, liveLeases, type Store, type StoredImage } from './store.ts';
export { BlobStore, storePaths, sha256File, type StorePaths } from './blobs.ts';
export { SnapshotStore, snapshotDirName, type PreparedSnapshot } from './snapshots.ts';
export { ImageIndex, CacheIndex, BuildRecords, type NewBuildRecord } from './indexes.ts';
export { acquireLock, type LockOptions, type LockOwner, type Release } from './lock.ts';
export { writeFileAtomic, writeFileAtomicSync, fsyncDir } from './atomic.ts';
export { exportCache, importCache, CACHE_ARTIFACT_TYPE, type ExchangeReport } from './exchange.ts';
export { prune, diskUsage, fsck, analyzeStore, type PruneOptions, type PruneReport, type DiskUsage, type DiskUsageRow, type FsckReport, type FsckProblem } from './gc.ts';
export { parseImageName, normalizeImageName, familiarName, familiarRepository, formatImageName, type ImageName } from './image-name.ts';
export * from './types.ts';
export {
  openContext,
  type ContextSnapshot,
  type ContextSelectorLike,
  type ContextFile,
  type ContextMatch,
  type ContextStats,
  type ContextEntryType,
  type OpenContextOptions,
} from './context/context.ts';
export { PatternMatcher, parseIgnoreFile, matchSegment, goPathMatch, cleanPath, compileIgnorePattern } from './context/patterns.ts';
