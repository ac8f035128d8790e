/**
 * The small indexes of the store, each one file per entry, written atomically, so concurrent writers never need
 * a lock and a reader never sees a torn entry:
 * - `images/<h>.json`: canonical image name → manifest digest (h = sha256(name)[:32]);
 * - `cache/<h[0:2]>/<h>.json`: cache key → CacheResult (h = sha256(key)); the file's mtime is the last use;
 * - `records/<id>.json`: build records.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, utimesSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigest, type Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import { writeFileAtomic } from './atomic.ts';
import type { BlobStore, StorePaths } from './blobs.ts';
import { normalizeImageName } from './image-name.ts';
import type { BuildRecord, CacheEntry, CacheResult, ImageIndexEntry } from './types.ts';

const h = (s: string): string => createHash('sha256').update(s).digest('hex');

export class ImageIndex {
  readonly #dir: string;

  constructor(paths: StorePaths) {
    this.#dir = paths.images;
  }

  #file(name: string): string {
    return join(this.#dir, `${h(name).slice(0, 32)}.json`);
  }

  /** Looks a name up (normalised docker-style first). */
  async get(name: string): Promise<ImageIndexEntry | undefined> {
    const canon = normalizeImageName(name);
    try {
      const e = JSON.parse(await readFile(this.#file(canon), 'utf8')) as ImageIndexEntry;
      return e.name === canon && isDigest(e.manifestDigest) ? e : undefined;
    } catch {
      return undefined;
    }
  }

  /** Points `name` at a manifest (which must already be in the store: callers use putImage). */
  async set(name: string, manifestDigest: Digest): Promise<ImageIndexEntry> {
    const canon = normalizeImageName(name);
    const entry: ImageIndexEntry = { name: canon, manifestDigest, taggedAt: new Date().toISOString() };
    await mkdir(this.#dir, { recursive: true });
    await writeFileAtomic(this.#file(canon), JSON.stringify(entry));
    return entry;
  }

  /** Removes a name; false if it was not there. */
  async remove(name: string): Promise<boolean> {
    const canon = normalizeImageName(name);
    const e = await this.get(canon);
    if (!e) return false;
    await unlink(this.#file(canon)).catch(() => {});
    return true;
  }

  /** All entries, sorted by name. */
  async list(): Promise<ImageIndexEntry[]> {
    const out: ImageIndexEntry[] = [];
    for (const f of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        const e = JSON.parse(await readFile(join(this.#dir, f), 'utf8')) as ImageIndexEntry;
        if (typeof e.name === 'string' && isDigest(e.manifestDigest)) out.push(e);
      } catch {
        /* torn files cannot exist (atomic writes); unreadable ones are fsck's business */
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }
}

interface StoredCacheEntry {
  readonly version: 1;
  readonly key: string;
  readonly result: CacheResult;
}

export class CacheIndex {
  readonly #dir: string;
  readonly #blobs: BlobStore;

  constructor(paths: StorePaths, blobs: BlobStore) {
    this.#dir = paths.cache;
    this.#blobs = blobs;
  }

  #file(key: string): string {
    const x = h(key);
    return join(this.#dir, x.slice(0, 2), `${x}.json`);
  }

  /**
   * The result for `key`, or undefined. An entry whose layer blobs are gone (pruned, lost) counts as a miss.
   * A hit marks the entry used (its mtime) for LRU pruning. One file read plus one stat per layer not yet in
   * `present`, the layers earlier lookups of the same build found stored (consecutive steps share most of their
   * chain: a no-op rebuild of 30 steps made ~500 checks for 31 layers without it); found layers are added to it.
   */
  async get(key: string, present?: Set<Digest>): Promise<CacheResult | undefined> {
    const file = this.#file(key);
    let e: StoredCacheEntry;
    try {
      // synchronous: a small file on the build's critical path (each step of a cached build reads one)
      e = JSON.parse(readFileSync(file, 'utf8')) as StoredCacheEntry;
    } catch {
      return undefined;
    }
    if (e.version !== 1 || e.key !== key) return undefined;
    // Every layer of the chain must still be stored (a step's chain is all its image's layers).
    for (const l of e.result.layers) {
      if (present?.has(l.digest)) continue;
      if (!(await this.#blobs.has(l.digest))) return undefined;
      present?.add(l.digest);
    }
    // Last use, for prune's LRU order: best effort.
    try {
      const now = new Date();
      utimesSync(file, now, now);
    } catch {
      // a read-only store still serves hits
    }
    return e.result;
  }

  /** Records `key → result` (replacing any previous result). The layer blobs must already be stored. */
  async put(key: string, result: CacheResult): Promise<void> {
    for (const l of result.layers) {
      if (!(await this.#blobs.has(l.digest))) throw new TsbuildError('store/blob-not-found', `cache result for ${key} names layer ${l.digest}, which is not in the store`);
    }
    const file = this.#file(key);
    await mkdir(join(file, '..'), { recursive: true });
    const entry: StoredCacheEntry = { version: 1, key, result };
    await writeFileAtomic(file, JSON.stringify(entry));
  }

  async remove(key: string): Promise<void> {
    await unlink(this.#file(key)).catch(() => {});
  }

  /** Every entry with its last-use time. */
  async list(): Promise<CacheEntry[]> {
    const out: CacheEntry[] = [];
    for (const sub of await readdir(this.#dir).catch(() => [] as string[])) {
      const d = join(this.#dir, sub);
      for (const f of await readdir(d).catch(() => [] as string[])) {
        if (!f.endsWith('.json') || f.startsWith('.')) continue;
        const p = join(d, f);
        try {
          const [text, st] = await Promise.all([readFile(p, 'utf8'), stat(p)]);
          const e = JSON.parse(text) as StoredCacheEntry;
          if (e.version === 1 && typeof e.key === 'string') out.push({ key: e.key, result: e.result, lastUsedMs: st.mtimeMs, fileSize: st.size });
        } catch {
          /* reported by fsck */
        }
      }
    }
    return out;
  }
}

/** A build record as given to `write` (the store assigns the id). */
export type NewBuildRecord = Omit<BuildRecord, 'id' | 'version'>;

export class BuildRecords {
  readonly #dir: string;

  constructor(paths: StorePaths) {
    this.#dir = paths.records;
  }

  /** Writes a record; returns its id (`<UTC time>-<random>`, lexically sortable by time). */
  async write(record: NewBuildRecord): Promise<string> {
    const t = new Date(record.startedAt);
    const stamp = (Number.isNaN(t.getTime()) ? new Date() : t).toISOString().replace(/[-:]/g, '').replace(/\.(\d+)Z$/, '$1Z');
    const id = `${stamp}-${randomBytes(3).toString('hex')}`;
    const full: BuildRecord = { ...record, version: 1, id };
    await mkdir(this.#dir, { recursive: true });
    await writeFileAtomic(join(this.#dir, `${id}.json`), JSON.stringify(full));
    return id;
  }

  /** All records, oldest first. */
  async list(): Promise<BuildRecord[]> {
    const out: BuildRecord[] = [];
    for (const f of (await readdir(this.#dir).catch(() => [] as string[])).sort()) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        const r = JSON.parse(await readFile(join(this.#dir, f), 'utf8')) as BuildRecord;
        if (r.version === 1) out.push(r);
      } catch {
        /* reported by fsck */
      }
    }
    return out;
  }

  /** A record by id or unique id prefix; throws `store/record-not-found` / `store/ambiguous-record`. */
  async get(id: string): Promise<BuildRecord> {
    const names = (await readdir(this.#dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json') && !f.startsWith('.') && f.startsWith(id));
    const exact = names.find((f) => f === `${id}.json`);
    const pick = exact ?? (names.length === 1 ? names[0] : undefined);
    if (pick === undefined) {
      if (names.length > 1) throw new TsbuildError('store/ambiguous-record', `build record id "${id}" is ambiguous (${names.length} matches)`);
      throw new TsbuildError('store/record-not-found', `no build record "${id}"`);
    }
    return JSON.parse(await readFile(join(this.#dir, pick), 'utf8')) as BuildRecord;
  }
}
