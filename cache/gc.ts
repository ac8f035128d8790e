/**
 * Reachability, garbage collection (`prune`), disk usage (`du`) and consistency checks (`fsck`).
 *
 * Roots: every tagged image (manifest, config, layers, and the snapshots of its layers' diffIDs), and the cache
 * entries kept within the budget (their layers and snapshot). Everything else is collected: unreferenced blobs
 * and snapshots, leftovers of dead processes (in ingest/, and the temp files of atomic writes they were killed in),
 * stale locks. Objects newer than the oldest live lease are
 * never collected, so a prune running beside a build cannot delete what the build just made.
 */
import { lstat, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest, type Digest } from '../util/digest.ts';
import { sha256File } from './blobs.ts';
import { ownerAlive, type LockOwner } from './lock.ts';
import { readMeta, removeSnapshotDir, snapshotDirName, treeSize } from './snapshots.ts';
import { liveLeases, type Store } from './store.ts';
import type { CacheEntry, ImageManifest } from './types.ts';
import { processStartTime } from './lock.ts';


/** What the store holds and what refers to what. Sizes in bytes. */
export interface StoreUsage {
  readonly images: ReadonlyArray<{ name: string; manifestDigest: Digest; blobs: Digest[]; diffIds: Digest[] }>;
  /** Blobs reachable from tagged images. */
  readonly imageBlobs: ReadonlySet<Digest>;
  readonly cacheEntries: readonly CacheEntry[];
  readonly blobSizes: ReadonlyMap<Digest, number>;
  /** Blob mtimes, ms. */
  readonly blobTimes: ReadonlyMap<Digest, number>;
  readonly snapshots: ReadonlyArray<{ id: string; name: string; size: number; lastUsedMs: number; createdMs: number }>;
  /** ingest/ entries and atomic-write temp files of dead processes. */
  readonly leftovers: ReadonlyArray<{ path: string; size: number }>;
}

/** Size of an ingest entry (file or tree). */
async function entrySize(p: string): Promise<number> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return 0;
  return st.isDirectory() ? treeSize(p) : st.size;
}

/** The pid embedded in an ingest name `<prefix>.<pid>.<rand>`. */
function ingestPid(name: string): number | undefined {
  const m = /\.(\d+)\.[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The pid in the name of an atomic write's temp file, `.<base>.tmp.<pid>.<8 hex>` (cache/atomic.ts tempNameBeside). */
function atomicTempPid(name: string): number | undefined {
  const m = /^\..+\.tmp\.(\d+)\.[0-9a-f]{8}$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether work named by `pid` may still be in progress: this process, or a live one (pids are not reused while it runs). */
const mayBeLive = (pid: number): boolean => pid === process.pid || processStartTime(pid) !== undefined;

/**
 * The directories the store writes metadata into with cache/atomic.ts (a write killed before its rename leaves its
 * temp file beside the target): the root, the image index, the cache index and its shards, build records, the stat
 * cache, the frontend cache and the blob-source hints. Never a snapshot's tree, whose names are the user's.
 */
async function atomicWriteDirs(store: Store): Promise<string[]> {
  const p = store.paths;
  const dirs = [p.root, p.images, p.records, p.statcache, p.frontend, p.distribution, p.cache];
  for (const e of await readdir(p.cache, { withFileTypes: true }).catch(() => [])) if (e.isDirectory()) dirs.push(join(p.cache, e.name));
  return dirs;
}

export async function analyzeStore(store: Store): Promise<StoreUsage> {
  const blobSizes = new Map<Digest, number>();
  const blobTimes = new Map<Digest, number>();
  for (const d of await store.blobs.list()) {
    const st = await stat(store.blobs.path(d)).catch(() => undefined);
    if (st) {
      blobSizes.set(d, st.size);
      blobTimes.set(d, st.mtimeMs);
    }
  }
  const images: Array<{ name: string; manifestDigest: Digest; blobs: Digest[]; diffIds: Digest[] }> = [];
  const imageBlobs = new Set<Digest>();
  for (const e of await store.images.list()) {
    const blobs: Digest[] = [e.manifestDigest];
    const diffIds: Digest[] = [];
    try {
      const m = await store.blobs.readJson<ImageManifest>(e.manifestDigest);
      blobs.push(m.config.digest, ...m.layers.map((l) => l.digest));
      const cfg = await store.blobs.readJson<{ rootfs?: { diff_ids?: Digest[] } }>(m.config.digest);
      diffIds.push(...(cfg.rootfs?.diff_ids ?? []));
    } catch {
      /* a broken image still roots what it can; fsck reports it */
    }
    for (const b of blobs) imageBlobs.add(b);
    images.push({ name: e.name, manifestDigest: e.manifestDigest, blobs, diffIds });
  }
  const cacheEntries = await store.cacheIndex.list();
  const snapshots: Array<{ id: string; name: string; size: number; lastUsedMs: number; createdMs: number }> = [];
  for (const s of await store.snapshots.list()) {
    snapshots.push({ id: s.id, name: snapshotDirName(s.id), size: s.size, lastUsedMs: s.lastUsedMs, createdMs: Date.parse(s.createdAt) || 0 });
  }
  const leftovers: Array<{ path: string; size: number }> = [];
  for (const name of await readdir(store.paths.ingest).catch(() => [] as string[])) {
    const pid = ingestPid(name);
    if (pid !== undefined && mayBeLive(pid)) continue; // live work
    const p = join(store.paths.ingest, name);
    leftovers.push({ path: p, size: await entrySize(p) });
  }
  for (const dir of await atomicWriteDirs(store)) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const pid = atomicTempPid(name);
      if (pid === undefined || mayBeLive(pid)) continue;
      const p = join(dir, name);
      const st = await lstat(p).catch(() => undefined);
      if (st?.isFile()) leftovers.push({ path: p, size: st.size });
    }
  }
  return { images, imageBlobs, cacheEntries, blobSizes, blobTimes, snapshots, leftovers };
}

/** Bytes a cache entry accounts for: its layer blobs plus its snapshot. */
function entrySizeOf(e: CacheEntry, usage: StoreUsage, snapSize: Map<string, number>): number {
  let n = e.fileSize;
  for (const l of e.result.layers) n += usage.blobSizes.get(l.digest) ?? 0;
  if (e.result.snapshotId !== undefined) n += snapSize.get(e.result.snapshotId) ?? 0;
  return n;
}

export interface PruneOptions {
  /** Remove every cache entry and snapshot (within `keepStorage`, if given), not just unreferenced data. */
  readonly all?: boolean;
  /** Keep the most recently used cache entries up to this many bytes. */
  readonly keepStorage?: number;
  /** Report without deleting. */
  readonly dryRun?: boolean;
}

export interface PruneReport {
  readonly cacheEntries: number;
  readonly snapshots: number;
  readonly blobs: number;
  readonly leftovers: number;
  readonly staleLocks: number;
  /** Bytes freed. */
  readonly reclaimed: number;
}

/** Collects garbage; holds the store's `gc` lock so two prunes do not race. */
export async function prune(store: Store, opts: PruneOptions = {}): Promise<PruneReport> {
  const release = await store.lock('gc', { purpose: 'prune' });
  try {
    const leases = await liveLeases(store.paths);
    const protectFrom = leases.length > 0 ? Math.min(...leases.map((l) => l.since)) - 1000 : Infinity;
    const usage = await analyzeStore(store);
    const snapSize = new Map(usage.snapshots.map((s) => [s.id, s.size]));

    // 1. Cache entries: keep within budget, most recently used first.
    const budget = opts.keepStorage ?? (opts.all ? 0 : Infinity);
    const sorted = [...usage.cacheEntries].sort((a, b) => b.lastUsedMs - a.lastUsedMs);
    const kept: CacheEntry[] = [];
    const dropped: CacheEntry[] = [];
    let used = 0;
    for (const e of sorted) {
      const broken = e.result.layers.some((l) => !usage.blobSizes.has(l.digest));
      const size = entrySizeOf(e, usage, snapSize);
      if (e.lastUsedMs >= protectFrom || (!broken && used + size <= budget)) {
        kept.push(e);
        used += size;
      } else dropped.push(e);
    }
    let reclaimed = 0;
    for (const e of dropped) {
      reclaimed += e.fileSize;
      if (!opts.dryRun) await store.cacheIndex.remove(e.key);
    }

    // 2. Reachability.
    const liveBlobs = new Set<Digest>(usage.imageBlobs);
    const liveSnaps = new Set<string>();
    for (const img of usage.images) if (!opts.all) for (const d of img.diffIds) liveSnaps.add(d);
    for (const e of kept) {
      for (const l of e.result.layers) liveBlobs.add(l.digest);
      if (e.result.snapshotId !== undefined) liveSnaps.add(e.result.snapshotId);
    }

    // 3. Sweep.
    let blobs = 0;
    for (const [d, size] of usage.blobSizes) {
      if (liveBlobs.has(d) || (usage.blobTimes.get(d) ?? 0) >= protectFrom) continue;
      blobs++;
      reclaimed += size;
      if (!opts.dryRun) await store.blobs.remove(d);
    }
    let snapshots = 0;
    for (const s of usage.snapshots) {
      if (liveSnaps.has(s.id) || s.createdMs >= protectFrom) continue;
      snapshots++;
      reclaimed += s.size;
      if (!opts.dryRun) await removeSnapshotDir(store.paths, s.name);
    }
    // Snapshot dirs without a valid marker cannot be produced by commit; they are junk (fsck reports them first).
    for (const name of await readdir(store.paths.snapshots).catch(() => [] as string[])) {
      if (name.startsWith('.')) continue;
      if (!(await readMeta(join(store.paths.snapshots, name)))) {
        snapshots++;
        if (!opts.dryRun) await removeSnapshotDir(store.paths, name);
      }
    }
    let leftovers = 0;
    for (const l of usage.leftovers) {
      leftovers++;
      reclaimed += l.size;
      if (!opts.dryRun) await rm(l.path, { recursive: true, force: true });
    }
    let staleLocks = 0;
    for (const name of await readdir(store.paths.locks).catch(() => [] as string[])) {
      const p = join(store.paths.locks, name);
      const owner = await readFile(p, 'utf8').then((t) => JSON.parse(t) as LockOwner).catch(() => undefined);
      if (owner && !ownerAlive(owner)) {
        staleLocks++;
        if (!opts.dryRun) await unlink(p).catch(() => {});
      }
    }
    return { cacheEntries: dropped.length, snapshots, blobs, leftovers, staleLocks, reclaimed };
  } finally {
    await release();
  }
}

export interface DiskUsageRow {
  readonly type: 'Images' | 'Build cache' | 'Unreferenced';
  readonly total: number;
  /** Bytes. */
  readonly size: number;
  /** Bytes `prune` (Unreferenced) or `prune --all` (Build cache) would free. */
  readonly reclaimable: number;
}

export interface DiskUsage {
  readonly rows: readonly DiskUsageRow[];
  readonly cache: ReadonlyArray<{ key: string; size: number; lastUsedMs: number; shared: boolean }>;
}

/** What takes space: images (never reclaimable by prune), build cache (by `prune --all`), unreferenced (by `prune`). */
export async function diskUsage(store: Store): Promise<DiskUsage> {
  const usage = await analyzeStore(store);
  const snapSize = new Map(usage.snapshots.map((s) => [s.id, s.size]));
  let imgSize = 0;
  for (const d of usage.imageBlobs) imgSize += usage.blobSizes.get(d) ?? 0;
  const imageDiffIds = new Set<string>(usage.images.flatMap((i) => i.diffIds));
  const cacheBlobs = new Set<Digest>();
  const cacheSnaps = new Set<string>();
  const cache: Array<{ key: string; size: number; lastUsedMs: number; shared: boolean }> = [];
  for (const e of usage.cacheEntries) {
    let size = e.fileSize;
    let shared = false;
    for (const l of e.result.layers) {
      if (usage.imageBlobs.has(l.digest)) shared = true;
      else if (!cacheBlobs.has(l.digest)) {
        cacheBlobs.add(l.digest);
        size += usage.blobSizes.get(l.digest) ?? 0;
      }
    }
    const sid = e.result.snapshotId;
    if (sid !== undefined && !cacheSnaps.has(sid) && snapSize.has(sid)) {
      cacheSnaps.add(sid);
      size += snapSize.get(sid)!;
    }
    cache.push({ key: e.key, size, lastUsedMs: e.lastUsedMs, shared });
  }
  const cacheSize = cache.reduce((a, c) => a + c.size, 0);
  // Snapshots of tagged images' layers are build cache too (re-creatable from the layer blobs).
  let imageSnapSize = 0;
  for (const s of usage.snapshots) if (!cacheSnaps.has(s.id) && imageDiffIds.has(s.id)) imageSnapSize += s.size;
  let unrefSize = 0;
  let unrefCount = 0;
  for (const [d, size] of usage.blobSizes) {
    if (!usage.imageBlobs.has(d) && !cacheBlobs.has(d)) {
      unrefSize += size;
      unrefCount++;
    }
  }
  for (const s of usage.snapshots) {
    if (!cacheSnaps.has(s.id) && !imageDiffIds.has(s.id)) {
      unrefSize += s.size;
      unrefCount++;
    }
  }
  for (const l of usage.leftovers) {
    unrefSize += l.size;
    unrefCount++;
  }
  return {
    rows: [
      { type: 'Images', total: new Set(usage.images.map((i) => i.manifestDigest)).size, size: imgSize, reclaimable: 0 },
      { type: 'Build cache', total: usage.cacheEntries.length, size: cacheSize + imageSnapSize, reclaimable: cacheSize + imageSnapSize },
      { type: 'Unreferenced', total: unrefCount, size: unrefSize, reclaimable: unrefSize },
    ],
    cache: cache.sort((a, b) => b.lastUsedMs - a.lastUsedMs),
  };
}

/** One fsck finding. */
export interface FsckProblem {
  readonly kind: 'corrupt-blob' | 'stray-file' | 'dangling-image' | 'dangling-cache' | 'bad-snapshot' | 'bad-entry';
  readonly path: string;
  readonly message: string;
}

export interface FsckReport {
  readonly problems: readonly FsckProblem[];
  readonly checked: { blobs: number; images: number; cacheEntries: number; snapshots: number; records: number };
  /** Leftovers of killed processes (not problems: the next prune removes them). */
  readonly leftovers: number;
}

/** Verifies every blob digest, every reference and every snapshot marker. */
export async function fsck(store: Store): Promise<FsckReport> {
  const problems: FsckProblem[] = [];
  const blobs = new Set<string>();
  const present = new Set<string>();
  for (const name of await readdir(store.paths.blobs).catch(() => [] as string[])) {
    const p = join(store.paths.blobs, name);
    if (!/^[0-9a-f]{64}$/.test(name)) {
      problems.push({ kind: 'stray-file', path: p, message: `unexpected file in blobs/sha256: ${name}` });
      continue;
    }
    const { digest } = await sha256File(p);
    if (digest !== `sha256:${name}`) {
      problems.push({ kind: 'corrupt-blob', path: p, message: `blob sha256:${name} hashes to ${digest}` });
      present.add(`sha256:${name}`);
    } else blobs.add(digest);
  }
  // References to a corrupt blob are not reported again as dangling: the blob is there, and already reported.
  const has = (d: string): boolean => blobs.has(d) || present.has(d);
  const images = await store.images.list();
  for (const e of images) {
    const where = `image ${e.name}`;
    if (!has(e.manifestDigest)) {
      problems.push({ kind: 'dangling-image', path: e.name, message: `${where}: manifest ${e.manifestDigest} is missing` });
      continue;
    }
    if (present.has(e.manifestDigest)) continue;
    try {
      const m = await store.blobs.readJson<ImageManifest>(e.manifestDigest);
      for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
        if (!isDigest(d) || !has(d)) problems.push({ kind: 'dangling-image', path: e.name, message: `${where}: blob ${d} is missing` });
      }
    } catch (err) {
      problems.push({ kind: 'dangling-image', path: e.name, message: `${where}: manifest unreadable: ${(err as Error).message}` });
    }
  }
  // Unparseable index files (should not exist: atomic writes).
  for (const f of await readdir(store.paths.images).catch(() => [] as string[])) {
    if (f.startsWith('.')) continue;
    const p = join(store.paths.images, f);
    try {
      JSON.parse(await readFile(p, 'utf8'));
    } catch {
      problems.push({ kind: 'bad-entry', path: p, message: `unreadable image index entry ${f}` });
    }
  }
  const snaps = new Set<string>();
  let snapCount = 0;
  for (const name of await readdir(store.paths.snapshots).catch(() => [] as string[])) {
    const base = join(store.paths.snapshots, name);
    snapCount++;
    const meta = await readMeta(base);
    if (!meta) problems.push({ kind: 'bad-snapshot', path: base, message: `snapshot ${name} has no valid marker (meta.json)` });
    else if (snapshotDirName(meta.id) !== name) problems.push({ kind: 'bad-snapshot', path: base, message: `snapshot ${name} is marked as ${meta.id}, which belongs elsewhere` });
    else if (!(await stat(join(base, 'fs')).then((s) => s.isDirectory()).catch(() => false))) problems.push({ kind: 'bad-snapshot', path: base, message: `snapshot ${meta.id} has no fs/ tree` });
    else snaps.add(meta.id);
  }
  const entries = await store.cacheIndex.list();
  for (const e of entries) {
    for (const l of e.result.layers) {
      if (!has(l.digest)) problems.push({ kind: 'dangling-cache', path: e.key, message: `cache entry ${e.key}: layer ${l.digest} is missing` });
    }
    if (e.result.snapshotId !== undefined && !snaps.has(e.result.snapshotId)) {
      problems.push({ kind: 'dangling-cache', path: e.key, message: `cache entry ${e.key}: snapshot ${e.result.snapshotId} is missing` });
    }
  }
  let records = 0;
  for (const f of await readdir(store.paths.records).catch(() => [] as string[])) {
    if (f.startsWith('.')) continue;
    records++;
    try {
      JSON.parse(await readFile(join(store.paths.records, f), 'utf8'));
    } catch {
      problems.push({ kind: 'bad-entry', path: join(store.paths.records, f), message: `unreadable build record ${f}` });
    }
  }
  const usage = await analyzeStore(store);
  return {
    problems,
    checked: { blobs: blobs.size, images: images.length, cacheEntries: entries.length, snapshots: snapCount, records },
    leftovers: usage.leftovers.length,
  };
}
