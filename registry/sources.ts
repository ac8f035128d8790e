/**
 * Where blobs are known to live remotely (`host/repository`), recorded after every pull and push so a later push
 * to another repository on the same registry can ask for a cross-repository mount instead of uploading.
 * One small file per blob under `<store>/distribution/` (like dockerd's distribution metadata); losing it only
 * costs an upload, so it is a hint, never trusted for content.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../cache/atomic.ts';
import type { Store } from '../cache/store.ts';
import { digestHex, type Digest } from '../util/digest.ts';

/** Remote repositories holding a blob, most recent first. */
export interface BlobSource {
  readonly host: string;
  readonly repository: string;
}

const MAX_SOURCES = 8;

function file(store: Store, d: Digest): string {
  return join(store.paths.distribution, digestHex(d));
}

/** Known sources of a blob (empty when none or unreadable). */
export async function blobSources(store: Store, d: Digest): Promise<BlobSource[]> {
  try {
    const j = JSON.parse(await readFile(file(store, d), 'utf8')) as unknown;
    if (!Array.isArray(j)) return [];
    return j.filter((x): x is BlobSource => typeof x?.host === 'string' && typeof x?.repository === 'string');
  } catch {
    return [];
  }
}

/** Records that `host/repository` has each of `digests`. Best effort: failures are ignored (it is a hint). */
export async function addBlobSources(store: Store, digests: readonly Digest[], src: BlobSource): Promise<void> {
  await mkdir(store.paths.distribution, { recursive: true }).catch(() => {});
  for (const d of new Set(digests)) {
    const cur = await blobSources(store, d);
    if (cur[0]?.host === src.host && cur[0]?.repository === src.repository) continue;
    const next = [src, ...cur.filter((s) => s.host !== src.host || s.repository !== src.repository)].slice(0, MAX_SOURCES);
    await writeFileAtomic(file(store, d), JSON.stringify(next)).catch(() => {});
  }
}
