/**
 * Docker-style image name normalisation for the local image index (`alpine` ≡ `docker.io/library/alpine:latest`).
 * The grammar is compiler/image-ref.ts's (distribution/reference); this module adds the store's error code and the
 * familiar (short) display forms.
 */
import { TsbuildError } from '../util/errors.ts';
import { parseImageRef, type ImageRef } from '../util/image-ref.ts';

/** A parsed, fully qualified reference. */
export interface ImageName {
  /** Registry host, e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path, e.g. `library/alpine`. */
  readonly path: string;
  /** Tag; `latest` when neither tag nor digest was given. */
  readonly tag?: string;
  readonly digest?: string;
}

/**
 * Parses and normalises `ref` with the one reference grammar (compiler/image-ref.ts); a malformed name is a usage
 * error here: TsbuildError `image/invalid-name` (exit 2). Adds `:latest` when neither tag nor digest is given.
 */
export function parseImageName(ref: string): ImageName {
  let r: ImageRef;
  try {
    r = parseImageRef(ref);
  } catch (e) {
    const why = e instanceof TsbuildError ? e.message.replace(/^invalid reference format: /, '').replace(/ \(".*"\)$/, '') : String(e);
    throw new TsbuildError('image/invalid-name', `invalid image name "${ref}": ${why}`, { exitCode: 2 });
  }
  return r.tag === undefined && r.digest === undefined ? { ...r, tag: 'latest' } : r;
}

/** The canonical string: `docker.io/library/alpine:latest`. */
export function formatImageName(n: ImageName): string {
  return `${n.domain}/${n.path}${n.tag !== undefined ? `:${n.tag}` : ''}${n.digest !== undefined ? `@${n.digest}` : ''}`;
}

/** Normalises to the canonical form. */
export function normalizeImageName(ref: string): string {
  return formatImageName(parseImageName(ref));
}

/** The repository as docker displays it: `alpine`, `me/app`, `localhost:5000/app`. */
export function familiarRepository(n: ImageName): string {
  if (n.domain === 'docker.io') return n.path.startsWith('library/') ? n.path.slice('library/'.length) : n.path;
  return `${n.domain}/${n.path}`;
}

/** The short form docker displays: `alpine:latest`. */
export function familiarName(ref: string): string {
  const n = parseImageName(ref);
  return `${familiarRepository(n)}${n.tag !== undefined ? `:${n.tag}` : ''}${n.digest !== undefined ? `@${n.digest}` : ''}`;
}
