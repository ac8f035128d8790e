/**
 * The part of undici the registry client uses: connection pools (`Agent`) and the request API.
 *
 * Why not `import { Agent, request } from 'undici'`: undici's index loads everything it offers (fetch, WebSocket,
 * EventSource, the HTTP caches with their sqlite store, mocks, HTTP/2, proxies), ~95 ms before the first request
 * on this machine, paid by every `pull`, `push` and `login`. The Agent and the request API alone load in ~45 ms.
 * They are undici's own modules, required by path; should a future undici move them, the full index is used.
 */
import { createRequire } from 'node:module';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';

export type Agent = UndiciAgent;
export type ResponseData = Dispatcher.ResponseData;
export type RequestOptions = Omit<Dispatcher.RequestOptions, 'origin' | 'path' | 'method'> & { method: Dispatcher.HttpMethod };

interface Parts {
  readonly Agent: typeof UndiciAgent;
  /** Dispatcher.prototype.request, called with the dispatcher as `this`. */
  readonly request: (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<ResponseData>;
}

let parts: Parts | undefined;

function load(): Parts {
  if (parts) return parts;
  const require = createRequire(import.meta.url);
  try {
    const AgentClass = require('undici/lib/dispatcher/agent.js') as typeof UndiciAgent;
    const { request } = require('undici/lib/api/index.js') as { request?: Parts['request'] };
    if (typeof AgentClass !== 'function' || typeof request !== 'function') throw new Error('unexpected undici layout');
    parts = { Agent: AgentClass, request };
  } catch {
    const u = require('undici') as { Agent: typeof UndiciAgent; Dispatcher: { prototype: { request: Parts['request'] } } };
    parts = { Agent: u.Agent, request: u.Dispatcher.prototype.request };
  }
  return parts;
}

/** A connection pool (undici's Agent). */
export function createAgent(options: UndiciAgent.Options): Agent {
  return new (load().Agent)(options);
}

/** One HTTP request through `dispatcher`, as undici's `request(url, { dispatcher, ... })`. */
export function request(dispatcher: Dispatcher, url: URL | string, opts: RequestOptions): Promise<ResponseData> {
  const u = typeof url === 'string' ? new URL(url) : url;
  return load().request.call(dispatcher, { ...opts, origin: u.origin, path: `${u.pathname}${u.search}` });
}
