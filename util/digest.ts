import { createHash } from 'node:crypto';

/** An OCI digest string, `sha256:<64 hex>`. Construct only through `digestOf`/`asDigest`. */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Validates and brands a digest string; throws on a malformed one (a bug or corrupt input the caller checks). */
export function asDigest(s: string): Digest {
  if (!DIGEST_RE.test(s)) throw new Error(`invalid digest: ${JSON.stringify(s)}`);
  return s as Digest;
}

export function digestOf(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest (for paths such as blobs/sha256/<hex>). */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

/**
 * Canonical JSON: object keys sorted, no whitespace, undefined fields dropped. Used for cache keys, definition
 * digests and every JSON blob tsbuild writes, so that the same value always has the same bytes.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortValue(value));
}

function sortValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortValue(x)));
  if (v !== null && typeof v === 'object') {
    if (v instanceof Map) return sortValue(Object.fromEntries(v));
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortValue(x);
    }
    return out;
  }
  return v;
}
