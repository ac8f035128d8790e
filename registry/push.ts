/**
 * Push: every blob of a stored image (config, layers) is checked with HEAD first; a blob the registry has in
 * another repository we know of is cross-mounted; the rest is uploaded, monolithically (one PUT) when small and in
 * PATCH chunks with Content-Range when large. A chunked upload's location is kept in `ingest/push-<h>.json`, so a
 * push interrupted mid-blob resumes from the offset the registry reports (GET on the upload URL), in the same
 * push after a dropped connection or in the next one. Last, the manifest bytes are PUT as stored (same digest).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pLimit from 'p-limit';
import { writeFileAtomic } from '../cache/atomic.ts';
import type { Store } from '../cache/store.ts';
import { formatImageRef, parseImageRef, type ImageRef } from '../compiler/image-ref.ts';
import type { Digest } from '../util/digest.ts';
import { TsbuildError } from '../util/errors.ts';
import { repositoryScope } from './auth.ts';
import { errorDetail, header, resolveUrl, statusError, type Endpoint, type RegistryClient, type RegistryResponse } from './client.ts';
import { addBlobSources, blobSources } from './sources.ts';

/** What happened to one blob. */
export type BlobOutcome = 'exists' | 'mounted' | 'uploaded' | 'resumed';

export type PushEvent =
  | { readonly type: 'blob'; readonly digest: Digest; readonly size: number; readonly status: 'checking' | 'uploading' | 'resuming' | BlobOutcome; readonly offset?: number }
  | { readonly type: 'manifest'; readonly name: string; readonly digest: Digest; readonly size: number };

export interface PushOptions {
  readonly client: RegistryClient;
  /** Push under this name instead of `source` (`tsbuild push` pushes a name as itself). */
  readonly destination?: string;
  /** Blobs uploaded at once; default 4. */
  readonly concurrency?: number;
  /** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. Bytes; default 64 MiB. */
  readonly chunkSize?: number;
  /** Resumes of one chunked upload within this push after a failed PATCH; default 3. */
  readonly resumeAttempts?: number;
  readonly onProgress?: (e: PushEvent) => void;
  readonly signal?: AbortSignal;
}

export interface PushResult {
  /** Canonical destination name, `host/repo:tag`. */
  readonly name: string;
  readonly manifestDigest: Digest;
  /** Manifest size in bytes (docker prints it: `digest: sha256:… size: 1234`). */
  readonly manifestSize: number;
  readonly blobs: ReadonlyArray<{ readonly digest: Digest; readonly size: number; readonly outcome: BlobOutcome }>;
}

interface UploadState {
  readonly location: string;
  readonly host: string;
  readonly repository: string;
  readonly digest: Digest;
}

/**
 * Pushes the stored image `source` (a name or image ID) to `destination ?? source`. Throws
 * `registry/push-access-denied` (401/403), `registry/unreachable`, `registry/upload-failed`, ….
 */
export async function pushImage(store: Store, source: string, opts: PushOptions): Promise<PushResult> {
  const img = await store.getImage(source);
  const destText = opts.destination ?? source;
  const dest = parseImageRef(destText);
  if (dest.digest !== undefined) throw new TsbuildError('registry/invalid-destination', `cannot push to a digest reference (${destText}); give a tag`, { exitCode: 2 });
  const tag = dest.tag ?? 'latest';
  const name = formatImageRef({ ...dest, tag });
  const ep = await opts.client.endpoint(dest.domain);
  const scopes = [repositoryScope(dest.path, ['pull', 'push'])];
  const blobs = [img.manifest.config, ...img.manifest.layers].map((d) => ({ digest: d.digest, size: d.size }));
  const unique = [...new Map(blobs.map((b) => [b.digest, b])).values()];
  const limit = pLimit(opts.concurrency ?? 4);
  const ctx: PushCtx = { store, ep, dest, scopes, opts, display: displayName(dest) };
  const settled = await Promise.allSettled(unique.map((b) => limit(async () => ({ ...b, outcome: await pushBlob(ctx, b) }))));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const outcomes = settled.map((r) => (r as PromiseFulfilledResult<{ digest: Digest; size: number; outcome: BlobOutcome }>).value);

  const bytes = Buffer.from(await store.blobs.readBytes(img.manifestDigest));
  const mediaType = img.manifest.mediaType || 'application/vnd.oci.image.manifest.v1+json';
  const res = await opts.client.send(ep, {
    method: 'PUT',
    path: `/v2/${dest.path}/manifests/${tag}`,
    scopes,
    headers: { 'content-type': mediaType },
    body: () => bytes,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await pushError(res, ctx, 'uploading the manifest');
  await res.body.dump().catch(() => {});
  const claimed = header(res.headers, 'docker-content-digest');
  if (claimed !== undefined && claimed !== img.manifestDigest) {
    throw new TsbuildError('registry/digest-mismatch', `${ep.host} stored the manifest of ${ctx.display} as ${claimed}, not ${img.manifestDigest}`);
  }
  opts.onProgress?.({ type: 'manifest', name, digest: img.manifestDigest, size: bytes.length });
  await addBlobSources(store, unique.map((b) => b.digest), { host: dest.domain, repository: dest.path });
  return { name, manifestDigest: img.manifestDigest, manifestSize: bytes.length, blobs: outcomes };
}

interface PushCtx {
  readonly store: Store;
  readonly ep: Endpoint;
  readonly dest: ImageRef;
  readonly scopes: readonly string[];
  readonly opts: PushOptions;
  readonly display: string;
}

function displayName(ref: ImageRef): string {
  return ref.domain === 'docker.io' ? ref.path.replace(/^library\//, '') : `${ref.domain}/${ref.path}`;
}

async function pushError(res: RegistryResponse, ctx: PushCtx, what: string): Promise<TsbuildError> {
  if (res.status === 401 || res.status === 403) {
    const detail = await errorDetail(res);
    return new TsbuildError('registry/push-access-denied', `push access denied for ${ctx.display}: requested access to the resource is denied (${detail})`, {
      suggestion: `log in with "tsbuild login ${ctx.dest.domain}"`,
    });
  }
  return statusError(res, `${what} for ${ctx.display} on ${ctx.ep.host}`);
}

/** The file keeping a chunked upload's location between processes. */
function statePath(store: Store, ep: Endpoint, repo: string, d: Digest): string {
  const h = createHash('sha256').update(`${ep.base}\n${repo}\n${d}`).digest('hex').slice(0, 32);
  return join(store.paths.ingest, `push-${h}.json`);
}

async function readState(file: string): Promise<UploadState | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as UploadState;
  } catch {
    return undefined;
  }
}

async function pushBlob(ctx: PushCtx, b: { digest: Digest; size: number }): Promise<BlobOutcome> {
  const { ep, dest, opts } = ctx;
  const progress = opts.onProgress;
  const sig = opts.signal ? { signal: opts.signal } : {};
  progress?.({ type: 'blob', ...b, status: 'checking' });
  const head = await opts.client.send(ep, { method: 'HEAD', path: `/v2/${dest.path}/blobs/${b.digest}`, scopes: ctx.scopes, ...sig });
  await head.body.dump().catch(() => {});
  if (head.status === 200) {
    progress?.({ type: 'blob', ...b, status: 'exists' });
    return 'exists';
  }
  if (head.status === 401 || head.status === 403) throw await pushError(head, ctx, 'checking a blob');

  const stateFile = statePath(ctx.store, ep, dest.path, b.digest);
  const saved = await readState(stateFile);
  let location: string | undefined;
  let offset = 0;
  let resumed = false;
  if (saved && saved.digest === b.digest) {
    const st = await uploadStatus(ctx, saved.location);
    if (st) {
      ({ location, offset } = st);
      resumed = offset > 0;
    } else await unlink(stateFile).catch(() => {});
  }

  if (location === undefined) {
    // Cross-repository mount from a repository on the same registry known to hold the blob.
    const from = (await blobSources(ctx.store, b.digest)).find((s) => s.host === dest.domain && s.repository !== dest.path);
    const mountScopes = from ? [...ctx.scopes, repositoryScope(from.repository, ['pull'])] : ctx.scopes;
    const query = from ? `?mount=${encodeURIComponent(b.digest)}&from=${encodeURIComponent(from.repository)}` : '';
    const res = await opts.client.send(ep, { method: 'POST', path: `/v2/${dest.path}/blobs/uploads/${query}`, scopes: mountScopes, headers: { 'content-length': '0' }, ...sig });
    await res.body.dump().catch(() => {});
    if (res.status === 201) {
      progress?.({ type: 'blob', ...b, status: 'mounted' });
      return 'mounted';
    }
    if (res.status !== 202) throw await pushError(res, ctx, 'starting an upload');
    location = uploadLocation(ep, res, 'starting an upload');
  }

  const chunk = Math.max(1, opts.chunkSize ?? 64 << 20);
  const file = ctx.store.blobs.path(b.digest);
  const maxResumes = opts.resumeAttempts ?? 3;
  if (offset === 0 && b.size <= chunk) {
    progress?.({ type: 'blob', ...b, status: 'uploading' });
    for (let attempt = 0; ; attempt++) {
      try {
        await finishUpload(ctx, location, b, () => createReadStream(file, { highWaterMark: 1 << 20 }), b.size);
        break;
      } catch (e) {
        const transient = e instanceof TsbuildError && (e.code === 'registry/unreachable' || e.code === 'registry/http-error');
        if (!transient || attempt >= maxResumes || opts.signal?.aborted) throw e;
        // A half-sent monolithic upload leaves nothing to resume: start a new session.
        const res = await opts.client.send(ep, { method: 'POST', path: `/v2/${dest.path}/blobs/uploads/`, scopes: ctx.scopes, headers: { 'content-length': '0' }, ...sig });
        await res.body.dump().catch(() => {});
        if (res.status !== 202) throw await pushError(res, ctx, 'starting an upload');
        location = uploadLocation(ep, res, 'starting an upload');
      }
    }
    progress?.({ type: 'blob', ...b, status: 'uploaded' });
    return 'uploaded';
  }

  progress?.({ type: 'blob', ...b, status: resumed ? 'resuming' : 'uploading', ...(resumed ? { offset } : {}) });
  await writeFileAtomic(stateFile, JSON.stringify({ location, host: dest.domain, repository: dest.path, digest: b.digest } satisfies UploadState));
  let failures = 0;
  while (offset < b.size) {
    const end = Math.min(offset + chunk, b.size) - 1;
    const start = offset;
    let res: RegistryResponse;
    try {
      res = await opts.client.send(ep, {
        method: 'PATCH',
        path: location,
        scopes: ctx.scopes,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end}`, 'content-length': String(end - start + 1) },
        body: () => createReadStream(file, { start, end, highWaterMark: 1 << 20 }),
        retries: 0,
        ...sig,
      });
    } catch (e) {
      if (opts.signal?.aborted || failures >= maxResumes) throw uploadInterrupted(ctx, b, offset, e);
      failures++;
      const st = await uploadStatus(ctx, location);
      if (st) {
        ({ location, offset } = st);
        resumed = offset > 0;
      } else {
        // The distribution registry binds each upload URL to an offset; a PATCH torn mid-body leaves more bytes
        // than the last URL promises, and the session cannot be continued. Start a new one.
        const res = await opts.client.send(ep, { method: 'POST', path: `/v2/${dest.path}/blobs/uploads/`, scopes: ctx.scopes, headers: { 'content-length': '0' }, ...sig });
        await res.body.dump().catch(() => {});
        if (res.status !== 202) throw uploadInterrupted(ctx, b, offset, e);
        location = uploadLocation(ep, res, 'restarting an upload');
        offset = 0;
        resumed = false;
      }
      await writeFileAtomic(stateFile, JSON.stringify({ location, host: dest.domain, repository: dest.path, digest: b.digest } satisfies UploadState));
      progress?.({ type: 'blob', ...b, status: 'resuming', offset });
      continue;
    }
    await res.body.dump().catch(() => {});
    if (res.status !== 202) throw await pushError(res, ctx, `uploading bytes ${start}-${end} of ${b.digest}`);
    location = uploadLocation(ep, res, 'uploading a chunk');
    offset = nextOffset(header(res.headers, 'range')) ?? end + 1;
    await writeFileAtomic(stateFile, JSON.stringify({ location, host: dest.domain, repository: dest.path, digest: b.digest } satisfies UploadState));
  }
  await finishUpload(ctx, location, b, undefined, 0);
  await unlink(stateFile).catch(() => {});
  const outcome: BlobOutcome = resumed ? 'resumed' : 'uploaded';
  progress?.({ type: 'blob', ...b, status: outcome });
  return outcome;
}

/**
 * The next offset from a `Range: 0-N` answer (N = last byte held). The distribution registry also answers `0-0`
 * for an empty upload, so `0-0` is read as nothing received: re-sending one byte is harmless, skipping one is not.
 */
function nextOffset(h: string | undefined): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(h ?? '');
  if (!m) return undefined;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

function uploadLocation(ep: Endpoint, res: RegistryResponse, what: string): string {
  const loc = header(res.headers, 'location');
  if (!loc) throw new TsbuildError('registry/bad-response', `${ep.host} answered ${what} without a Location header`);
  return resolveUrl(ep, loc);
}

/** Where an upload stands: GET on its location → 204 + `Range: 0-N`. Undefined when the session is gone. */
async function uploadStatus(ctx: PushCtx, location: string): Promise<{ location: string; offset: number } | undefined> {
  let res: RegistryResponse;
  try {
    res = await ctx.opts.client.send(ctx.ep, { method: 'GET', path: location, scopes: ctx.scopes });
  } catch {
    return undefined;
  }
  await res.body.dump().catch(() => {});
  if (res.status !== 204 && res.status !== 200) return undefined;
  const loc = header(res.headers, 'location');
  return { location: loc ? resolveUrl(ctx.ep, loc) : location, offset: nextOffset(header(res.headers, 'range')) ?? 0 };
}

async function finishUpload(ctx: PushCtx, location: string, b: { digest: Digest; size: number }, body: (() => Readable) | undefined, length: number): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', b.digest);
  const res = await ctx.opts.client.send(ctx.ep, {
    method: 'PUT',
    path: url.href,
    scopes: ctx.scopes,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
    ...(body ? { body } : {}),
    // A monolithic PUT that failed half way left nothing usable behind; the caller's retry starts a new upload.
    retries: 0,
    ...(ctx.opts.signal ? { signal: ctx.opts.signal } : {}),
  });
  await res.body.dump().catch(() => {});
  if (res.status !== 201 && res.status !== 204 && res.status !== 200) {
    if (res.status === 400) throw new TsbuildError('registry/upload-failed', `${ctx.ep.host} rejected blob ${b.digest} of ${ctx.display} (digest or size did not match what was sent)`);
    throw await pushError(res, ctx, `finishing the upload of ${b.digest}`);
  }
}

function uploadInterrupted(ctx: PushCtx, b: { digest: Digest; size: number }, offset: number, e: unknown): TsbuildError {
  return new TsbuildError('registry/upload-interrupted', `upload of ${b.digest} to ${ctx.display} was interrupted at byte ${offset} of ${b.size}: ${(e as Error).message}; run the push again to resume`, { cause: e });
}
