/**
 * Docker image reference parsing and normalisation (distribution/reference's ParseNormalizedNamed + TagNameOnly):
 * `alpine` → `docker.io/library/alpine:latest`, `ghcr.io/o/r@sha256:…` kept as is. Pure; shared with the registry
 * client.
 */
import { TsbuildError } from './errors.ts';

/** A parsed, normalised image reference. */
export interface ImageRef {
  /** Registry host (with port), e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path inside the registry, e.g. `library/alpine`. */
  readonly path: string;
  readonly tag?: string;
  /** `sha256:<hex>` (or another algorithm) when the reference pins a digest. */
  readonly digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DOMAIN = 'index.docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const DOMAIN = /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$/;
/** distribution/reference caps the repository name at 255 characters. */
const NAME_MAX = 255;

function invalid(ref: string, why: string): TsbuildError {
  return new TsbuildError('compile/invalid-image-ref', `invalid reference format: ${why} (${JSON.stringify(ref)})`, {
    suggestion: 'image references look like name[:tag][@sha256:digest], e.g. docker.io/library/alpine:3.20',
  });
}

/** Parses and normalises a reference; throws TsbuildError `compile/invalid-image-ref` (no range: callers add it). */
export function parseImageRef(ref: string): ImageRef {
  if (ref === '') throw invalid(ref, 'empty reference');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid(ref, 'invalid digest');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(ref, 'invalid tag');
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (domain === LEGACY_DOMAIN) domain = DEFAULT_DOMAIN;
  if (!DOMAIN.test(domain)) throw invalid(ref, 'invalid registry host');
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (path.length === 0) throw invalid(ref, 'empty repository name');
  for (const c of path.split('/')) {
    if (c.toLowerCase() !== c && COMPONENT.test(c.toLowerCase())) {
      throw invalid(ref, `repository name (${path}) must be lowercase`);
    }
    if (!COMPONENT.test(c)) throw invalid(ref, 'invalid repository name');
  }
  if (domain.length + 1 + path.length > NAME_MAX) throw invalid(ref, 'repository name must not be more than 255 characters');
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The canonical string: `domain/path[:tag][@digest]`, with `:latest` added when neither tag nor digest is given. */
export function formatImageRef(r: ImageRef): string {
  let s = `${r.domain}/${r.path}`;
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** `alpine` → `docker.io/library/alpine:latest`; throws TsbuildError `compile/invalid-image-ref`. */
export function normalizeImageRef(ref: string): string {
  const r = parseImageRef(ref);
  return formatImageRef(r.tag === undefined && r.digest === undefined ? { ...r, tag: 'latest' } : r);
}
