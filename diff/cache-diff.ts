/**
 * Diff of two stores' build caches by key: which cache entries one store has that the other lacks (e.g. a CI
 * runner's store against a laptop's). Entries are named by the step that made them when a build record of either
 * store mentions the key.
 */
import type { Store } from '../cache/index.ts';

/** A cache entry present in one store only. `size` is the blob size of its last layer (the one the step added), bytes. */
export interface CacheOnly {
  readonly key: string;
  readonly layers: number;
  readonly size: number;
  /** ISO 8601 time the result was produced. */
  readonly createdAt: string;
  /** The instruction that made it, from a build record, if any mentions the key. */
  readonly step?: string;
}

export interface CacheDiff {
  readonly a: string;
  readonly b: string;
  readonly onlyInA: readonly CacheOnly[];
  readonly onlyInB: readonly CacheOnly[];
  readonly shared: number;
}

async function stepNames(store: Store, into: Map<string, string>): Promise<void> {
  for (const r of await store.records.list()) for (const s of r.steps) if (s.cacheKey && !into.has(s.cacheKey)) into.set(s.cacheKey, s.description);
}

/** Compares the cache indexes of two stores. */
export async function diffCaches(a: Store, b: Store): Promise<CacheDiff> {
  const [ea, eb] = await Promise.all([a.cacheIndex.list(), b.cacheIndex.list()]);
  const names = new Map<string, string>();
  await stepNames(a, names);
  await stepNames(b, names);
  const ka = new Set(ea.map((e) => e.key));
  const kb = new Set(eb.map((e) => e.key));
  const only = (es: typeof ea, other: Set<string>): CacheOnly[] =>
    es
      .filter((e) => !other.has(e.key))
      .map((e) => {
        // An entry lists the step's whole layer chain; its own layer is the last one.
        const last = e.result.layers.at(-1);
        const step = names.get(e.key);
        return { key: e.key, layers: e.result.layers.length, size: last?.size ?? 0, createdAt: e.result.createdAt, ...(step !== undefined ? { step } : {}) };
      })
      .sort((x, y) => (x.createdAt < y.createdAt ? -1 : x.createdAt > y.createdAt ? 1 : 0));
  return { a: a.root, b: b.root, onlyInA: only(ea, kb), onlyInB: only(eb, ka), shared: [...ka].filter((k) => kb.has(k)).length };
}
