/**
 * The HTTP side of the distribution protocol: endpoints (scheme and TLS per host, mirrors), authentication
 * (anonymous, Basic, Bearer token flow with cached tokens), redirects that never carry credentials to another
 * origin, and retries with backoff on 429/5xx and dropped connections. Pull and push build on `send`.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { createAgent, request, type Agent, type ResponseData } from './http.ts';
import type { Readable } from 'node:stream';
import { TsbuildError } from '../util/errors.ts';
import { parseChallenges, TokenCache, type Challenge } from './auth.ts';
import { allowsPlainHttp, isInsecureHost, loadRegistryConfig, type RegistryConfig } from './config.ts';
import { CredentialStore, type Credentials } from './credentials.ts';

/** Where requests for one registry go. `host` names the registry (credentials, messages); `base` is the URL origin. */
export interface Endpoint {
  readonly host: string;
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  readonly base: string;
  /** True for a docker.io mirror (its failures fall back to the next endpoint). */
  readonly mirror: boolean;
}

export interface RegistryClientOptions {
  /** Mirrors, insecure hosts and CA files; default `loadRegistryConfig(env)`. */
  readonly config?: RegistryConfig;
  /** Where credentials come from; default docker's config.json for `env`. */
  readonly credentials?: { get(host: string): Promise<Credentials | undefined> };
  /** Extra PEM CA files trusted for every host (`--ca-cert`). */
  readonly caCerts?: readonly string[];
  /** Attempts after the first for retryable failures (429, 5xx, connection resets); default 4. */
  readonly retries?: number;
  /** First backoff delay in ms, doubled per attempt (with jitter) up to 10 s; default 250. */
  readonly backoffMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Called before each retry (for progress output and tests). */
  readonly onRetry?: (info: { url: string; attempt: number; reason: string; delayMs: number }) => void;
}

/** A response whose body the caller must consume or `dump()`. */
export interface RegistryResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: ResponseData['body'];
  /** The URL that finally answered (after redirects). */
  readonly url: string;
}

export interface SendOptions {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the endpoint (`/v2/library/alpine/manifests/latest`) or an absolute URL (upload locations). */
  readonly path: string;
  /** Token scopes the request needs (`repository:library/alpine:pull`). */
  readonly scopes: readonly string[];
  readonly headers?: Readonly<Record<string, string>>;
  /** Called per attempt, so a retry gets a fresh stream. */
  readonly body?: () => string | Buffer | Readable | null;
  /** Override the client's retry count (0 for uploads whose caller resumes by itself). */
  readonly retries?: number;
  readonly signal?: AbortSignal;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const RETRY_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const TLS_PROTOCOL = /EPROTO|wrong version number|packet length too long|ERR_SSL|unknown protocol/i;

/** Network error code (undici wraps the socket error in `cause`). */
export function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'UND_ERR' && !c.startsWith('UND_ERR_ABORT')) {
      if (c !== 'UND_ERR_SOCKET' || !(cur as { cause?: unknown }).cause) return c;
    }
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True for failures worth retrying: resets, refused connections, timeouts. */
export function isRetryableNetworkError(e: unknown): boolean {
  if (e instanceof TsbuildError) return false;
  const c = errorCode(e);
  return c !== undefined && RETRY_CODES.has(c);
}

function isTlsCertError(e: unknown): boolean {
  const c = errorCode(e) ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME|ALTNAME/i.test(c) || /certificate/i.test(String((e as Error)?.message ?? ''));
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    }, { once: true });
  });

/** Header value as one string. */
export function header(h: RegistryResponse['headers'], name: string): string | undefined {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

interface EndpointState {
  challenge?: Challenge;
  basic?: string;
}

export class RegistryClient {
  readonly config: RegistryConfig;
  readonly #credentials: { get(host: string): Promise<Credentials | undefined> };
  readonly #retries: number;
  readonly #backoffMs: number;
  readonly #extraCa: string[];
  readonly #onRetry: RegistryClientOptions['onRetry'];
  readonly #tokens = new TokenCache();
  readonly #tokenFetches = new Map<string, Promise<string>>();
  readonly #state = new Map<string, EndpointState>();
  readonly #agents = new Map<string, Agent>();
  readonly #schemes = new Map<string, Promise<string>>();
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();

  constructor(opts: RegistryClientOptions = {}) {
    const env = opts.env ?? process.env;
    this.config = opts.config ?? loadRegistryConfig(env);
    this.#credentials = opts.credentials ?? new CredentialStore(env);
    this.#retries = opts.retries ?? 4;
    this.#backoffMs = opts.backoffMs ?? 250;
    this.#extraCa = (opts.caCerts ?? []).map((f) => readPem(f));
    this.#onRetry = opts.onRetry;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((a) => a.close().catch(() => {})));
    this.#agents.clear();
  }

  /**
   * The endpoints to try for a registry host, in order: docker.io's mirrors (pulls only) then the origin.
   * The origin's scheme is https, or http for a loopback/insecure host that does not speak TLS.
   */
  async endpoints(host: string, purpose: 'pull' | 'push'): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    if (host === 'docker.io' && purpose === 'pull') {
      for (const m of this.config.mirrors) out.push({ host: new URL(m).host, base: m, mirror: true });
    }
    out.push({ host, base: await this.#originBase(host), mirror: false });
    return out;
  }

  /** The origin endpoint (no mirrors). */
  async endpoint(host: string): Promise<Endpoint> {
    return { host, base: await this.#originBase(host), mirror: false };
  }

  #originBase(host: string): Promise<string> {
    const apiHost = host === 'docker.io' ? 'registry-1.docker.io' : host;
    let p = this.#schemes.get(host);
    if (!p) {
      p = (async () => {
        if (!allowsPlainHttp(this.config, host)) return `https://${apiHost}`;
        // Probe TLS: a plain-HTTP server answers the handshake with garbage (EPROTO / wrong version number). The
        // probe only picks the scheme, so it skips certificate checks: building the verifying context (the bundled
        // and system CAs, ~80 ms) is left to the requests that go over https; they verify and report cert errors.
        const probe = createAgent({ connect: { rejectUnauthorized: false }, connections: 1 });
        try {
          const res = await request(probe, `https://${apiHost}/v2/`, { method: 'GET', headersTimeout: 15_000 });
          await res.body.dump();
          return `https://${apiHost}`;
        } catch (e) {
          if (TLS_PROTOCOL.test(`${errorCode(e) ?? ''} ${(e as Error).message}`) || errorCode(e) === 'ECONNRESET') return `http://${apiHost}`;
          throw unreachable(host, e);
        } finally {
          probe.destroy().catch(() => {});
        }
      })();
      p.catch(() => this.#schemes.delete(host));
      this.#schemes.set(host, p);
    }
    return p;
  }

  /** One connection pool per origin, with the CAs and verification that host gets. */
  #agent(origin: string, host: string): Agent {
    let a = this.#agents.get(origin);
    if (!a) {
      // Plain http needs no TLS context: the CA list (bundled + system, ~60 ms to load) is built for https only.
      const tlsOptions = origin.startsWith('https:')
        ? {
            ca: [...tls.rootCertificates, ...safeSystemCas(), ...this.#extraCa, ...[...(this.config.caCerts[host] ?? []), ...(this.config.caCerts['*'] ?? [])].map((f) => readPem(f))],
            rejectUnauthorized: !isInsecureHost(this.config, host),
          }
        : {};
      a = createAgent({ connect: tlsOptions, connections: 16, keepAliveTimeout: 30_000 });
      this.#agents.set(origin, a);
    }
    return a;
  }

  #credsFor(host: string): Promise<Credentials | undefined> {
    let p = this.#creds.get(host);
    if (!p) {
      p = this.#credentials.get(host);
      this.#creds.set(host, p);
    }
    return p;
  }

  /**
   * Sends a request with auth, redirects and retries. Returns any final status (the caller interprets 4xx);
   * throws `registry/unreachable` or `registry/tls` for transport failures after the retries.
   */
  async send(ep: Endpoint, opts: SendOptions): Promise<RegistryResponse> {
    const retries = opts.retries ?? this.#retries;
    for (let attempt = 0; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = await this.#sendAuthed(ep, opts);
      } catch (e) {
        if (opts.signal?.aborted) throw opts.signal.reason as Error;
        if (attempt < retries && isRetryableNetworkError(e)) {
          await this.#backoff(ep, opts, attempt, errorCode(e) ?? 'network error', undefined);
          continue;
        }
        if (e instanceof TsbuildError) throw e;
        if (isTlsCertError(e)) throw tlsError(ep.host, e);
        throw unreachable(ep.host, e);
      }
      if (attempt < retries && RETRY_STATUS.has(res.status)) {
        await res.body.dump().catch(() => {});
        await this.#backoff(ep, opts, attempt, `HTTP ${res.status}`, header(res.headers, 'retry-after'));
        continue;
      }
      return res;
    }
  }

  async #backoff(ep: Endpoint, opts: SendOptions, attempt: number, reason: string, retryAfter: string | undefined): Promise<void> {
    let delay = Math.min(10_000, this.#backoffMs * 2 ** attempt) * (0.75 + Math.random() * 0.5);
    const ra = retryAfter !== undefined ? Number(retryAfter) : NaN;
    if (Number.isFinite(ra) && ra >= 0) delay = Math.min(30_000, Math.max(delay, ra * 1000));
    this.#onRetry?.({ url: resolveUrl(ep, opts.path), attempt: attempt + 1, reason, delayMs: Math.round(delay) });
    await sleep(delay, opts.signal);
  }

  async #sendAuthed(ep: Endpoint, opts: SendOptions): Promise<RegistryResponse> {
    const st = this.#stateFor(ep);
    const auth = await this.#authorization(ep, st, opts.scopes);
    const res = await this.#sendFollowing(ep, opts, auth);
    if (res.status !== 401) return res;
    const challenge = pickChallenge(header(res.headers, 'www-authenticate'));
    const hadAuth = auth !== undefined;
    if (!challenge) return res;
    const changed = st.challenge?.scheme !== challenge.scheme || st.challenge.params.realm !== challenge.params.realm;
    st.challenge = challenge;
    // A rejected token (expired early, or scope too small) is worth one fresh fetch; rejected Basic creds are not.
    if (hadAuth && !changed && challenge.scheme === 'basic') return res;
    let next: string | undefined;
    try {
      next = await this.#authorization(ep, st, opts.scopes, hadAuth ? challenge.params.scope : undefined, hadAuth);
    } catch (e) {
      await res.body.dump().catch(() => {});
      throw e;
    }
    // Nothing more to offer (no credentials for a Basic realm): the caller reads this 401.
    if (next === undefined) return res;
    await res.body.dump().catch(() => {});
    return this.#sendFollowing(ep, opts, next);
  }

  #stateFor(ep: Endpoint): EndpointState {
    let st = this.#state.get(ep.base);
    if (!st) {
      st = {};
      this.#state.set(ep.base, st);
    }
    return st;
  }

  /** The Authorization header for a request, from what the endpoint's last challenge asked for. */
  async #authorization(ep: Endpoint, st: EndpointState, scopes: readonly string[], extraScope?: string, refresh = false): Promise<string | undefined> {
    const ch = st.challenge;
    if (!ch) return undefined;
    const creds = await this.#credsFor(ep.host);
    if (ch.scheme === 'basic') {
      if (!creds || creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    const realm = ch.params.realm;
    if (!realm) return undefined;
    const service = ch.params.service ?? '';
    const all = [...new Set([...scopes, ...(extraScope ? extraScope.split(' ') : [])])];
    const key = TokenCache.key(realm, service, all, creds?.username ?? '');
    if (!refresh) {
      const cached = this.#tokens.get(key);
      if (cached) return `Bearer ${cached}`;
    }
    let p = this.#tokenFetches.get(key);
    if (!p) {
      p = this.#fetchToken(ep, realm, service, all, creds, key).finally(() => this.#tokenFetches.delete(key));
      this.#tokenFetches.set(key, p);
    }
    return `Bearer ${await p}`;
  }

  async #fetchToken(ep: Endpoint, realm: string, service: string, scopes: readonly string[], creds: Credentials | undefined, key: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new TsbuildError('registry/auth', `${ep.host} sent an invalid token realm ${JSON.stringify(realm)}`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowsPlainHttp(this.config, url.host))) {
      throw new TsbuildError('registry/auth', `${ep.host} asks for credentials at ${realm}, which is not HTTPS; refusing to send them`);
    }
    const dispatcher = this.#agent(url.origin, url.host);
    let res: ResponseData;
    if (creds?.identityToken !== undefined) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'tsbuild', service, scope: scopes.join(' ') });
      res = await request(dispatcher, url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const s of scopes) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds?.password !== undefined) {
        url.searchParams.set('account', creds.username);
        headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      }
      res = await request(dispatcher, url, { method: 'GET', headers });
    }
    const text = await res.body.text();
    if (res.statusCode === 401 || res.statusCode === 403) {
      throw new TsbuildError('registry/unauthorized', `${ep.host}: authentication failed${creds ? ` for user "${creds.username}"` : ''} (token server answered ${res.statusCode})`, {
        suggestion: creds ? `check the credentials with "tsbuild login ${ep.host}"` : `run "tsbuild login ${ep.host}"`,
      });
    }
    if (res.statusCode !== 200) throw new TsbuildError('registry/auth', `${ep.host}: token server ${url.origin} answered HTTP ${res.statusCode}`);
    let j: { token?: string; access_token?: string; expires_in?: number; issued_at?: string };
    try {
      j = JSON.parse(text) as typeof j;
    } catch {
      throw new TsbuildError('registry/auth', `${ep.host}: token server ${url.origin} did not answer JSON`);
    }
    const token = j.token ?? j.access_token;
    if (!token) throw new TsbuildError('registry/auth', `${ep.host}: token server ${url.origin} answered without a token`);
    this.#tokens.set(key, token, j.expires_in, j.issued_at);
    return token;
  }

  /** Sends one request, following up to 5 redirects; Authorization goes only to the endpoint's own origin. */
  async #sendFollowing(ep: Endpoint, opts: SendOptions, auth: string | undefined): Promise<RegistryResponse> {
    let url = resolveUrl(ep, opts.path);
    const origin = new URL(ep.base).origin;
    for (let hop = 0; hop <= 5; hop++) {
      const target = new URL(url);
      const headers: Record<string, string> = { 'user-agent': 'tsbuild/0.1', ...opts.headers };
      if (auth !== undefined && target.origin === origin) headers.authorization = auth;
      const res = await request(this.#agent(target.origin, target.host), target, {
        method: opts.method,
        headers,
        body: hop === 0 || opts.method === 'GET' || opts.method === 'HEAD' ? (opts.body?.() ?? null) : null,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      const loc = res.headers.location;
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && typeof loc === 'string' && (opts.method === 'GET' || opts.method === 'HEAD')) {
        await res.body.dump().catch(() => {});
        const next = new URL(loc, target);
        if (next.protocol === 'http:' && target.protocol === 'https:' && !allowsPlainHttp(this.config, next.host)) {
          throw new TsbuildError('registry/redirect', `${ep.host} redirected ${target.href} to plain HTTP (${next.href}); refusing`);
        }
        url = next.href;
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url };
    }
    throw new TsbuildError('registry/redirect', `${ep.host}: too many redirects for ${opts.path}`);
  }
}

/** Absolute URL of `path` on the endpoint (upload locations may be absolute or relative). */
export function resolveUrl(ep: Endpoint, path: string): string {
  return new URL(path, `${ep.base}/`).href;
}

function pickChallenge(h: string | undefined): Challenge | undefined {
  if (!h) return undefined;
  const all = parseChallenges(h);
  return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}

function readPem(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new TsbuildError('registry/ca-cert', `cannot read CA certificate ${file}: ${(e as Error).message}`, { exitCode: 2 });
  }
}

let systemCas: string[] | undefined;
function safeSystemCas(): string[] {
  if (systemCas === undefined) {
    try {
      systemCas = tls.getCACertificates('system');
    } catch {
      systemCas = [];
    }
  }
  return systemCas;
}

function unreachable(host: string, e: unknown): TsbuildError {
  const code = errorCode(e);
  return new TsbuildError('registry/unreachable', `cannot reach registry ${host}: ${code ? `${code} ` : ''}${(e as Error)?.message ?? String(e)}`, { cause: e });
}

function tlsError(host: string, e: unknown): TsbuildError {
  return new TsbuildError('registry/tls', `TLS with ${host} failed: ${(e as Error)?.message ?? String(e)}`, {
    cause: e,
    suggestion: `trust the registry's CA with --ca-cert FILE (or "ca-certs" in the registry config), or list ${host} in "insecure-registries"`,
  });
}

/** Reads a registry's JSON error body into one line (`MANIFEST_UNKNOWN: manifest unknown`). */
export async function errorDetail(res: RegistryResponse): Promise<string> {
  const text = await res.body.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (Array.isArray(j.errors) && j.errors.length > 0) return j.errors.map((x) => `${x.code ?? 'ERROR'}: ${x.message ?? ''}`.trim()).join('; ');
  } catch {
    /* not JSON */
  }
  return text.trim().slice(0, 200) || `HTTP ${res.status}`;
}

/** A TsbuildError for an unexpected status; 401/403/404 get their own codes. */
export async function statusError(res: RegistryResponse, what: string): Promise<TsbuildError> {
  const detail = await errorDetail(res);
  const code = res.status === 401 ? 'registry/unauthorized' : res.status === 403 ? 'registry/denied' : res.status === 404 ? 'registry/not-found' : res.status === 429 ? 'registry/too-many-requests' : 'registry/http-error';
  return new TsbuildError(code, `${what}: ${res.status} ${detail}`);
}
