/**
 * ADD <url>: download one file with undici, as BuildKit's HTTP source does for the Dockerfile frontend: the file
 * is named after the last segment of the URL path (`__unnamed__` when there is none; the Dockerfile frontend sets
 * the name explicitly, so Content-Disposition is not consulted), written with mode 0600, its mtime taken from
 * Last-Modified, and checked against `--checksum` before it appears under its final name.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, rename, rm, utimes } from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TsbuildError } from '../../util/errors.ts';
import { tempName } from './fs-write.ts';

/** Options for `fetchUrl`. */
export interface FetchUrlOptions {
  /** `--checksum`: `sha256:<hex>` (sha384/sha512 accepted too). A mismatch fails and writes nothing. */
  readonly checksum?: string;
  /** Host path the file is written to (its directory must exist); replaced atomically. */
  readonly destFile: string;
  readonly signal?: AbortSignal;
}

/** What was fetched. `digest` is `sha256:<hex>` of the content (or the checksum's algorithm when one was given). */
export interface FetchUrlResult {
  readonly filename: string;
  readonly lastModified?: Date;
  readonly digest: string;
  readonly size: number;
}

/** The file name ADD gives a URL's content: the last path segment, or `__unnamed__` (dockerfile2llb). */
export function urlFilename(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return '__unnamed__';
  }
  const base = path.posix.basename(path.posix.normalize(decodeURIComponentSafe(pathname)));
  return base === '' || base === '.' || base === '/' || base === '..' ? '__unnamed__' : base;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const CHECKSUM_RE = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const HEX_LEN: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Downloads `url` to `opts.destFile`. Errors: `fileops/url-fetch-failed`, `fileops/checksum-mismatch`, `fileops/invalid-checksum`. */
export async function fetchUrl(url: string, opts: FetchUrlOptions): Promise<FetchUrlResult> {
  let algorithm = 'sha256';
  let expected: string | undefined;
  if (opts.checksum !== undefined) {
    const m = CHECKSUM_RE.exec(opts.checksum);
    if (!m || m[2]!.length !== HEX_LEN[m[1]!]) {
      throw new TsbuildError('fileops/invalid-checksum', `invalid checksum ${JSON.stringify(opts.checksum)}: expected sha256:<64 hex digits>`);
    }
    algorithm = m[1]!;
    expected = opts.checksum;
  }
  let res;
  try {
    // undici is loaded here, not at start-up: it is ~40 modules that only ADD <url> needs.
    const { fetch } = await import('undici');
    res = await fetch(url, { redirect: 'follow', ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    throw new TsbuildError('fileops/url-fetch-failed', `failed to fetch ${url}${cause || (e instanceof Error ? `: ${e.message}` : '')}`, { cause: e });
  }
  if (res.status < 200 || res.status >= 300 || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    throw new TsbuildError('fileops/url-fetch-failed', `failed to fetch ${url}: invalid response status ${res.status}`);
  }
  const hash = createHash(algorithm);
  let size = 0;
  const tmp = path.join(path.dirname(opts.destFile), tempName());
  try {
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          size += chunk.length;
          cb(null, chunk);
        },
      }),
      createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
      ...(opts.signal ? [{ signal: opts.signal }] : []),
    );
    const digest = `${algorithm}:${hash.digest('hex')}`;
    if (expected !== undefined && digest !== expected) {
      throw new TsbuildError('fileops/checksum-mismatch', `digest mismatch for ${url}: expected ${expected}, got ${digest}`);
    }
    await chmod(tmp, 0o600);
    const lm = res.headers.get('last-modified');
    const lastModified = lm ? new Date(lm) : undefined;
    const validLm = lastModified && !Number.isNaN(lastModified.getTime()) ? lastModified : undefined;
    if (validLm) await utimes(tmp, validLm, validLm);
    await rename(tmp, opts.destFile);
    return { filename: urlFilename(url), ...(validLm ? { lastModified: validLm } : {}), digest, size };
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof TsbuildError) throw e;
    throw new TsbuildError('fileops/url-fetch-failed', `failed to fetch ${url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
