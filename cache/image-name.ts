/**
 * Docker-style image name normalisation for the local image index (`alpine` ≡ `docker.io/library/alpine:latest`).
 * Kept in cache/ as the store's own, small normaliser; it agrees with the distribution reference grammar for the
 * names the image commands accept (no digest-only references are stored as tags).
 */
import { TsbuildError } from '../util/errors.ts';

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

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

/** Parses and normalises `ref`; throws TsbuildError `image/invalid-name` (exit 2) for malformed names. */
export function parseImageName(ref: string): ImageName {
  const bad = (why: string): never => {
    throw new TsbuildError('image/invalid-name', `invalid image name "${ref}": ${why}`, { exitCode: 2 });
  };
  if (ref === '') bad('empty');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) bad('malformed digest');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad('malformed tag');
  }
  let domain = 'docker.io';
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === 'index.docker.io') domain = 'docker.io';
  if (path === '') bad('empty repository');
  if (path !== path.toLowerCase()) bad('repository name must be lowercase');
  for (const c of path.split('/')) if (!COMPONENT.test(c)) bad(`bad path component "${c}"`);
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
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
