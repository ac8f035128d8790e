/**
 * Pull: reference → manifest (platform picked from an index / manifest list) → config and layers, downloaded
 * concurrently, streamed to the store's ingest area and verified against their digests before they enter the
 * store. Partial downloads stay in `ingest/pull-<hex>.partial` and resume with an HTTP Range request, within the
 * same pull after a dropped connection and in a later pull after an interruption. The manifest and config are
 * stored byte for byte as served (their digests are the registry's), then the name is tagged.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, fdatasync, type WriteStream } from 'node:fs';
import { stat, truncate, unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { formatImageRef, parseImageRef, type ImageRef } from '../compiler/image-ref.ts';
import type { Store, StoredImage } from '../cache/store.ts';
import { digestHex, isDigest, type Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import { nativePlatform } from '../util/platform.ts';
import { repositoryScope } from './auth.ts';
import { errorCode, header, isRetryableNetworkError, statusError, type Endpoint, type RegistryClient } from './client.ts';
import { addBlobSources } from './sources.ts';

/** Media types a pull accepts for manifests. */
export const ManifestMediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const ACCEPT = Object.values(ManifestMediaType).join(', ');
/** Manifests larger than this are refused (the distribution spec suggests 4 MiB). */
const MAX_MANIFEST_BYTES = 4 << 20;

/** The platform to pick from an index (OCI names: `amd64`, `arm64` + `v8`). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** Progress of a pull, for the CLI. Sizes in bytes. */
export type PullEvent =
  | { readonly type: 'resolved'; readonly ref: string; readonly manifestDigest: Digest; readonly endpoint: string; readonly indexDigest?: Digest }
  | { readonly type: 'blob'; readonly digest: Digest; readonly size: number; readonly status: 'exists' | 'downloading' | 'resuming' | 'done'; readonly offset?: number }
  | { readonly type: 'mirror-failed'; readonly endpoint: string; readonly message: string };

export interface PullOptions {
  readonly client: RegistryClient;
  /** Default: the native platform. */
  readonly platform?: Platform;
  /** Blobs downloaded at once; default 4. */
  readonly concurrency?: number;
  /** Range-resumes of one blob within this pull after dropped connections; default 5. */
  readonly resumeAttempts?: number;
  readonly onProgress?: (e: PullEvent) => void;
  readonly signal?: AbortSignal;
}

export interface PullResult {
  /** Canonical name tagged in the store (`docker.io/library/alpine:latest`, or `…@sha256:…`). */
  readonly name: string;
  /** The platform manifest stored and tagged. */
  readonly manifestDigest: Digest;
  readonly configDigest: Digest;
  /** The index / manifest list the platform manifest was picked from, if any. */
  readonly indexDigest?: Digest;
  /** Blobs fetched (not already present) and their total bytes. */
  readonly blobsFetched: number;
  readonly bytesFetched: number;
  /** Base URL of the endpoint that served the image (a mirror or the origin). */
  readonly endpoint: string;
  /** True when the store already had this manifest under this name. */
  readonly upToDate: boolean;
}

interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: Digest;
}

interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  config?: { digest?: string; size?: number; mediaType?: string };
  layers?: Array<{ digest?: string; size?: number; mediaType?: string }>;
  manifests?: Array<{ digest?: string; size?: number; mediaType?: string; platform?: { os?: string; architecture?: string; variant?: string }; annotations?: Record<string, string> }>;
}

/** docker's message for 401/403/404 on a pull, which says both possible reasons. */
export function pullAccessDenied(ref: string, detail?: string): TsbuildError {
  return new TsbuildError('registry/pull-access-denied', `pull access denied for ${ref}: repository does not exist or may require 'tsbuild login'${detail ? ` (${detail})` : ''}`, {
    suggestion: 'check the name, or log in with "tsbuild login HOST"',
  });
}

/**
 * Pulls `ref` into the store and tags it with its canonical name. docker.io references try the configured mirrors
 * first. Throws `registry/pull-access-denied`, `registry/digest-mismatch`, `registry/no-matching-platform`,
 * `registry/unreachable`, `registry/tls`, ….
 */
export async function pullImage(store: Store, refText: string, opts: PullOptions): Promise<PullResult> {
  const ref = parseImageRef(refText);
  const name = formatImageRef(ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref);
  const endpoints = await opts.client.endpoints(ref.domain, 'pull');
  const release = await store.lease(`pull ${name}`);
  try {
    let lastMirrorError: unknown;
    for (const ep of endpoints) {
      try {
        return await pullFrom(store, ep, ref, name, opts);
      } catch (e) {
        if (!ep.mirror || opts.signal?.aborted || (e instanceof TsbuildError && e.code === 'registry/digest-mismatch')) throw e;
        lastMirrorError = e;
        opts.onProgress?.({ type: 'mirror-failed', endpoint: ep.base, message: (e as Error).message });
      }
    }
    throw lastMirrorError ?? new Error('no endpoints');
  } finally {
    await release();
  }
}

async function pullFrom(store: Store, ep: Endpoint, ref: ImageRef, name: string, opts: PullOptions): Promise<PullResult> {
  const scopes = [repositoryScope(ref.path, ['pull'])];
  const display = displayName(ref);
  let top = await fetchManifest(opts.client, ep, ref.path, ref.digest ?? ref.tag ?? 'latest', scopes, display, opts.signal);
  if (ref.digest !== undefined && top.digest !== ref.digest) {
    throw new TsbuildError('registry/digest-mismatch', `manifest for ${display} from ${ep.host} hashes to ${top.digest}, not ${ref.digest}`);
  }
  let indexDigest: Digest | undefined;
  const topJson = parseManifestJson(top, display);
  if (isIndex(top.mediaType, topJson)) {
    indexDigest = top.digest;
    const want = opts.platform ?? nativePlatform();
    const picked = pickPlatform(topJson, want);
    if (!picked) {
      const have = (topJson.manifests ?? []).map((m) => [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter(Boolean).join('/')).filter((s) => s && !s.startsWith('unknown'));
      throw new TsbuildError('registry/no-matching-platform', `no matching manifest for ${[want.os, want.architecture, want.variant].filter(Boolean).join('/')} in the manifest list entries of ${display} (available: ${have.join(', ') || 'none'})`);
    }
    top = await fetchManifest(opts.client, ep, ref.path, picked, scopes, display, opts.signal);
    if (top.digest !== picked) throw new TsbuildError('registry/digest-mismatch', `manifest for ${display} from ${ep.host} hashes to ${top.digest}, not ${picked}`);
  }
  const manifest = parseManifestJson(top, display);
  if (isIndex(top.mediaType, manifest)) throw new TsbuildError('registry/bad-manifest', `${display}: an index points to another index; nested indexes are not supported`);
  const config = descriptor(manifest.config, display, 'config');
  const layers = (manifest.layers ?? []).map((l, i) => descriptor(l, display, `layer ${i}`));
  opts.onProgress?.({ type: 'resolved', ref: name, manifestDigest: top.digest, endpoint: ep.base, ...(indexDigest ? { indexDigest } : {}) });

  const current = await store.images.get(name).catch(() => undefined);
  const limit = pLimit(opts.concurrency ?? 4);
  let blobsFetched = 0;
  let bytesFetched = 0;
  const all = [config, ...layers];
  const seen = new Set<string>();
  const unique = all.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)));
  const results = await Promise.allSettled(
    unique.map((d) =>
      limit(async () => {
        const fetched = await fetchBlob(store, opts.client, ep, ref.path, d, scopes, opts);
        if (fetched) {
          blobsFetched++;
          bytesFetched += d.size;
        }
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;

  // The config must describe as many layers as the manifest lists, or builds on it would misalign diffIDs.
  const cfg = await store.blobs.readJson<{ rootfs?: { diff_ids?: unknown[] } }>(config.digest);
  const diffIds = cfg.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== layers.length) {
    throw new TsbuildError('registry/bad-manifest', `${display}: the image config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff_ids for ${layers.length} layers`);
  }
  await store.blobs.putBytes(top.bytes, top.digest);
  await store.tagImage(name, top.digest);
  await addBlobSources(store, all.map((d) => d.digest), { host: ep.host, repository: ref.path });
  return {
    name,
    manifestDigest: top.digest,
    configDigest: config.digest,
    ...(indexDigest ? { indexDigest } : {}),
    blobsFetched,
    bytesFetched,
    endpoint: ep.base,
    upToDate: current?.manifestDigest === top.digest,
  };
}

/** `docker.io/library/alpine` → `alpine` for messages, as docker prints it. */
function displayName(ref: ImageRef): string {
  const repo = ref.domain === 'docker.io' ? ref.path.replace(/^library\//, '') : `${ref.domain}/${ref.path}`;
  return repo;
}

function isIndex(mediaType: string, j: ManifestJson): boolean {
  return mediaType === ManifestMediaType.ociIndex || mediaType === ManifestMediaType.dockerList || (Array.isArray(j.manifests) && !j.config);
}

function parseManifestJson(m: FetchedManifest, display: string): ManifestJson {
  let j: ManifestJson;
  try {
    j = JSON.parse(m.bytes.toString('utf8')) as ManifestJson;
  } catch {
    throw new TsbuildError('registry/bad-manifest', `the manifest of ${display} (${m.digest}) is not JSON`);
  }
  if (j === null || typeof j !== 'object' || j.schemaVersion !== 2) {
    throw new TsbuildError('registry/bad-manifest', `the manifest of ${display} is schema version ${String((j as ManifestJson | null)?.schemaVersion)}; only schema 2 (Docker v2 / OCI) is supported`);
  }
  return j;
}

/** A validated descriptor (sha256 digests only, non-negative integer size). */
function descriptor(d: { digest?: string; size?: number; mediaType?: string } | undefined, display: string, what: string): { digest: Digest; size: number; mediaType: string } {
  if (!d || typeof d.digest !== 'string' || !isDigest(d.digest) || typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new TsbuildError('registry/bad-manifest', `the manifest of ${display} has an invalid ${what} descriptor (sha256 digest and size required)`);
  }
  return { digest: d.digest, size: d.size, mediaType: d.mediaType ?? '' };
}

/** The index entry for `want`: os and architecture equal; variant equal when both sides name one (arm64 ≡ arm64/v8). */
export function pickPlatform(index: ManifestJson, want: Platform): Digest | undefined {
  const norm = (arch: string | undefined, variant: string | undefined): string | undefined => (arch === 'arm64' && (variant === undefined || variant === '') ? 'v8' : variant || undefined);
  const wantVariant = norm(want.architecture, want.variant);
  const candidates = (index.manifests ?? []).filter(
    (m) =>
      m.platform?.os === want.os &&
      m.platform?.architecture === want.architecture &&
      typeof m.digest === 'string' &&
      isDigest(m.digest) &&
      m.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest',
  );
  const exact = candidates.find((m) => norm(m.platform?.architecture, m.platform?.variant) === wantVariant);
  const pick = exact ?? (wantVariant === undefined ? candidates[0] : undefined);
  return pick?.digest as Digest | undefined;
}

async function fetchManifest(client: RegistryClient, ep: Endpoint, repo: string, reference: string, scopes: readonly string[], display: string, signal?: AbortSignal): Promise<FetchedManifest> {
  const res = await client.send(ep, { method: 'GET', path: `/v2/${repo}/manifests/${reference}`, scopes, headers: { accept: ACCEPT }, ...(signal ? { signal } : {}) });
  if (res.status === 401 || res.status === 403 || res.status === 404) {
    const err = await statusError(res, '');
    if (res.status === 404 && isDigest(reference)) throw new TsbuildError('registry/not-found', `manifest ${reference} of ${display} not found on ${ep.host}`);
    throw pullAccessDenied(display, err.message.replace(/^: /, ''));
  }
  if (res.status !== 200) throw await statusError(res, `fetching the manifest of ${display} from ${ep.host}`);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res.body as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new TsbuildError('registry/bad-manifest', `the manifest of ${display} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    chunks.push(c);
  }
  const bytes = Buffer.concat(chunks);
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
  const claimed = header(res.headers, 'docker-content-digest');
  if (claimed !== undefined && claimed.startsWith('sha256:') && claimed !== digest) {
    throw new TsbuildError('registry/digest-mismatch', `the manifest of ${display} from ${ep.host} hashes to ${digest}, but the registry says ${claimed}`);
  }
  let mediaType = (header(res.headers, 'content-type') ?? '').split(';')[0]!.trim();
  try {
    const mt = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
    if (typeof mt === 'string' && mt !== '') mediaType = mt;
  } catch {
    /* parse errors are reported by parseManifestJson */
  }
  if (mediaType.includes('distribution.manifest.v1')) throw new TsbuildError('registry/bad-manifest', `${display} uses a schema 1 manifest, which is not supported`);
  return { bytes, mediaType, digest };
}

/** The ingest file a blob's partial download lives in, so a later pull finds and resumes it. */
export function partialPath(store: Store, d: Digest): string {
  return join(store.paths.ingest, `pull-${digestHex(d)}.partial`);
}

/**
 * Downloads one blob into the store unless present. Returns true when bytes were fetched. Verifies size and digest;
 * a mismatch deletes the partial file and stores nothing.
 */
async function fetchBlob(store: Store, client: RegistryClient, ep: Endpoint, repo: string, d: { digest: Digest; size: number }, scopes: readonly string[], opts: PullOptions): Promise<boolean> {
  const progress = opts.onProgress;
  if (await store.blobs.has(d.digest)) {
    progress?.({ type: 'blob', digest: d.digest, size: d.size, status: 'exists' });
    return false;
  }
  // Two processes pulling the same blob: one downloads, the other waits and then finds it present.
  const release = await store.lock(`pull-blob.${digestHex(d.digest)}`);
  try {
    if (await store.blobs.has(d.digest)) {
      progress?.({ type: 'blob', digest: d.digest, size: d.size, status: 'exists' });
      return false;
    }
    const partial = partialPath(store, d.digest);
    const maxResumes = opts.resumeAttempts ?? 5;
    // The bytes are hashed as they are written, so the finished file is verified without a second read and moved
    // in with `adoptHashed`. `hashed` counts the bytes the running hash covers; when it differs from the file's
    // size (a partial left by another process, or a write that failed) the file's prefix is hashed again.
    let have = 0;
    let hash = createHash('sha256');
    let hashed = 0;
    for (let attempt = 0; ; attempt++) {
      have = (await stat(partial).catch(() => undefined))?.size ?? 0;
      if (have > d.size) {
        await truncate(partial, 0);
        have = 0;
      }
      if (have !== hashed) {
        hash = createHash('sha256');
        hashed = 0;
        if (have > 0) {
          for await (const c of createReadStream(partial, { end: have - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
            hash.update(c);
            hashed += c.length;
          }
        }
        if (hashed !== have) continue;
      }
      if (have === d.size && d.size > 0) break;
      progress?.({ type: 'blob', digest: d.digest, size: d.size, status: have > 0 ? 'resuming' : 'downloading', ...(have > 0 ? { offset: have } : {}) });
      const res = await client.send(ep, {
        method: 'GET',
        path: `/v2/${repo}/blobs/${d.digest}`,
        scopes,
        headers: have > 0 ? { range: `bytes=${have}-` } : {},
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      if (res.status === 401 || res.status === 403 || res.status === 404) {
        throw await statusError(res, `fetching blob ${d.digest} of ${repo} from ${ep.host}`);
      }
      if (res.status === 416) {
        // Our partial does not fit what the server has: start over.
        await res.body.dump().catch(() => {});
        await truncate(partial, 0);
        hash = createHash('sha256');
        hashed = 0;
        continue;
      }
      let append = false;
      if (res.status === 206) {
        const m = /^bytes (\d+)-/.exec(header(res.headers, 'content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          res.body.destroy();
          throw new TsbuildError('registry/bad-response', `${ep.host} answered a range request for ${d.digest} with the wrong range (${header(res.headers, 'content-range') ?? 'none'})`);
        }
        append = true;
      } else if (res.status !== 200) {
        throw await statusError(res, `fetching blob ${d.digest} of ${repo} from ${ep.host}`);
      }
      if (!append) {
        have = 0;
        hash = createHash('sha256');
        hashed = 0;
      }
      // flush: fsync before close, so a blob adopted below is durable. The writer also syncs as it goes (see
      // EarlySync), so the disk works while the network does and the final fsync has little left to wait for.
      const ws = createWriteStream(partial, { flags: append ? 'a' : 'w', highWaterMark: 1 << 20, flush: true });
      const early = new EarlySync(ws);
      try {
        for await (const c of res.body as AsyncIterable<Buffer>) {
          if (have + c.length > d.size) {
            res.body.destroy();
            await closeStream(ws);
            await unlink(partial).catch(() => {});
            throw new TsbuildError('registry/digest-mismatch', `blob ${d.digest} from ${ep.host} is larger than the ${d.size} bytes its descriptor says; discarded, nothing stored`);
          }
          have += c.length;
          hash.update(c);
          hashed += c.length;
          if (!ws.write(c)) await once(ws, 'drain');
          early.wrote(c.length);
        }
        await early.settled();
        await closeStream(ws);
      } catch (e) {
        await early.settled();
        await closeStream(ws).catch(() => {});
        if (e instanceof TsbuildError) throw e;
        // Whatever reached the file stays; the next attempt (or the next pull) asks for the rest with Range.
        if (opts.signal?.aborted) throw opts.signal.reason as Error;
        const got = (await stat(partial).catch(() => undefined))?.size ?? 0;
        if (attempt < maxResumes && (isRetryableNetworkError(e) || errorCode(e) === 'UND_ERR_SOCKET' || /terminated|aborted|other side closed/i.test(String((e as Error).message)))) continue;
        throw new TsbuildError('registry/download-interrupted', `download of ${d.digest} from ${ep.host} was interrupted after ${got} of ${d.size} bytes: ${(e as Error).message}; run the pull again to resume`, { cause: e });
      }
      if (have < d.size) {
        if (attempt < maxResumes) continue;
        throw new TsbuildError('registry/download-interrupted', `download of ${d.digest} from ${ep.host} ended after ${have} of ${d.size} bytes; run the pull again to resume`);
      }
      break;
    }
    const got = `sha256:${hash.digest('hex')}` as Digest;
    if (got !== d.digest || hashed !== d.size) {
      await unlink(partial).catch(() => {});
      throw new TsbuildError('registry/digest-mismatch', `blob ${d.digest} from ${ep.host} failed verification: its content hashes to ${got} (${hashed} bytes); discarded, nothing stored`);
    }
    // Hashed here over exactly the bytes written (and fsynced): no second read.
    await store.blobs.adoptHashed(partial, d.digest);
    progress?.({ type: 'blob', digest: d.digest, size: d.size, status: 'done' });
    return true;
  } finally {
    await release();
  }
}

/**
 * Starts an fdatasync every `every` bytes written (one at a time, not awaited by the writer). Without it a whole
 * blob sits dirty in the page cache until the closing fsync, which then waits for all of it (~0.3 s for 200 MB
 * here); with it, write-back overlaps the download. Durability still comes from the closing fsync.
 */
class EarlySync {
  readonly #ws: WriteStream;
  readonly #every: number;
  #pending = 0;
  #inflight: Promise<void> | undefined;

  constructor(ws: WriteStream, every = 8 << 20) {
    this.#ws = ws;
    this.#every = every;
  }

  wrote(n: number): void {
    this.#pending += n;
    const fd = (this.#ws as unknown as { fd: number | null }).fd; // set once the stream has opened the file
    if (this.#pending < this.#every || this.#inflight || typeof fd !== 'number') return;
    this.#pending = 0;
    this.#inflight = new Promise<void>((resolve) => fdatasync(fd, () => resolve())).then(() => {
      this.#inflight = undefined;
    });
  }

  /** Waits for a sync in flight (before the file is closed: its descriptor must stay valid until then). */
  async settled(): Promise<void> {
    await this.#inflight;
  }
}

async function closeStream(ws: Writable): Promise<void> {
  if (!ws.writableEnded) ws.end();
  await finished(ws);
}

/**
 * For FROM: the stored image for `ref`, pulling it when the store lacks it (`policy: 'missing'`) or checking the
 * registry for a newer manifest first (`'always'`, `build --pull`).
 */
export async function ensureImage(store: Store, ref: string, policy: 'missing' | 'always', opts: PullOptions): Promise<StoredImage> {
  if (policy === 'missing') {
    const have = await store.findImage(ref);
    if (have) return have;
  }
  const r = await pullImage(store, ref, opts);
  return store.getImage(r.name);
}
