/**
 * Registry authentication pieces that need no network: `WWW-Authenticate` challenge parsing, scope strings and a
 * token cache that forgets tokens shortly before they expire.
 */

/** One parsed challenge: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`. Scheme lower-cased. */
export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses a `WWW-Authenticate` header (RFC 7235: several challenges, comma separated, params as token or quoted
 * string). Unknown or malformed parts are skipped rather than thrown: a registry's odd header should lead to a
 * clear 401 message later, not a parse crash.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = (): void => {
    while (i < n && /[\s,]/.test(header[i]!)) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: { scheme: string; params: Record<string, string> } | undefined;
  while (i < n) {
    skipWs();
    const start = i;
    const word = token();
    if (word === '') {
      i++;
      continue;
    }
    let j = i;
    while (j < n && header[j] === ' ') j++;
    if (header[j] === '=') {
      // key=value of the current challenge
      i = j + 1;
      while (i < n && header[i] === ' ') i++;
      let value: string;
      if (header[i] === '"') {
        i++;
        let v = '';
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          v += header[i];
          i++;
        }
        i++;
        value = v;
      } else value = token();
      if (current) current.params[word.toLowerCase()] = value;
    } else {
      current = { scheme: header.slice(start, i).toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** `repository:library/alpine:pull` (actions joined with commas, as the token spec asks). */
export function repositoryScope(repository: string, actions: readonly ('pull' | 'push')[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

/** A bearer token and when to stop using it (ms since epoch). */
export interface CachedToken {
  readonly token: string;
  readonly expiresAtMs: number;
}

/** Seconds a token lives when the server does not say (the token spec's default). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;

/**
 * Tokens by (realm, service, scopes, user). Entries are dropped 10 s before their expiry so a request never
 * starts with a token about to lapse mid-transfer.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  static key(realm: string, service: string, scopes: readonly string[], user: string): string {
    return JSON.stringify([realm, service, [...scopes].sort(), user]);
  }

  get(key: string): string | undefined {
    const t = this.#tokens.get(key);
    if (!t) return undefined;
    if (this.#now() >= t.expiresAtMs - 10_000) {
      this.#tokens.delete(key);
      return undefined;
    }
    return t.token;
  }

  /**
   * Stores a token response. `expiresIn` in seconds (default 60); `issuedAt` (RFC 3339) moves the start back when
   * the server's clock says the token is older than now.
   */
  set(key: string, token: string, expiresIn?: number, issuedAt?: string): void {
    const lifetimeS = expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S;
    let start = this.#now();
    const issued = issuedAt !== undefined ? Date.parse(issuedAt) : NaN;
    if (Number.isFinite(issued) && issued < start) start = issued;
    this.#tokens.set(key, { token, expiresAtMs: start + lifetimeS * 1000 });
  }
}
