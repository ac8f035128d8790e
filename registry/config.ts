/**
 * Registry settings: mirrors for docker.io (dockerd's `registry-mirrors`), insecure registries, extra CA
 * certificates. Read from one JSON file (`TSBUILD_REGISTRY_CONFIG`, else `$XDG_CONFIG_HOME/tsbuild/registries.json`,
 * else `/etc/tsbuild/registries.json`) plus environment overrides, so tests and CI need no files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TsbuildError } from '../util/errors.ts';

/** Effective registry settings. Hosts are `host[:port]` as they appear in image references. */
export interface RegistryConfig {
  /** Base URLs (`https://mirror.example.com`, `http://127.0.0.1:5001`) tried in order before docker.io. */
  readonly mirrors: readonly string[];
  /** Hosts that may use plain HTTP or unverified TLS. Loopback hosts may use plain HTTP without being listed. */
  readonly insecure: readonly string[];
  /** PEM CA bundles (file paths) trusted in addition to the system CAs, per host; `*` applies to every host. */
  readonly caCerts: Readonly<Record<string, readonly string[]>>;
  /** Where the file came from, for messages; undefined when none was read. */
  readonly source?: string;
}

/** The JSON file format (keys as dockerd's daemon.json where one exists). */
interface ConfigFile {
  'registry-mirrors'?: unknown;
  'insecure-registries'?: unknown;
  'ca-certs'?: unknown;
}

/** The config file path: `TSBUILD_REGISTRY_CONFIG`, else the user's, else the system one (first that exists). */
export function registryConfigPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TSBUILD_REGISTRY_CONFIG) return env.TSBUILD_REGISTRY_CONFIG;
  const user = join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'tsbuild', 'registries.json');
  if (existsSync(user)) return user;
  if (existsSync('/etc/tsbuild/registries.json')) return '/etc/tsbuild/registries.json';
  return undefined;
}

const strings = (v: unknown, what: string, file: string): string[] => {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new TsbuildError('registry/bad-config', `${file}: "${what}" must be an array of strings`);
  return v as string[];
};

/**
 * Loads the settings. Env: `TSBUILD_REGISTRY_MIRRORS` (comma-separated URLs, tried before the file's),
 * `TSBUILD_INSECURE_REGISTRIES` (comma-separated hosts), `TSBUILD_REGISTRY_CA` (a PEM file trusted for every host).
 * Throws `registry/bad-config` for an unreadable or malformed file.
 */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  const file = registryConfigPath(env);
  let parsed: ConfigFile = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new TsbuildError('registry/bad-config', `cannot read registry config ${file}: ${(e as Error).message}`);
    }
    try {
      const j = JSON.parse(text) as unknown;
      if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('not an object');
      parsed = j as ConfigFile;
    } catch (e) {
      throw new TsbuildError('registry/bad-config', `registry config ${file} is not a JSON object: ${(e as Error).message}`);
    }
  }
  const split = (s: string | undefined): string[] => (s ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const mirrors = [...split(env.TSBUILD_REGISTRY_MIRRORS), ...strings(parsed['registry-mirrors'], 'registry-mirrors', file ?? '')].map(normalizeMirror);
  const insecure = [...split(env.TSBUILD_INSECURE_REGISTRIES), ...strings(parsed['insecure-registries'], 'insecure-registries', file ?? '')];
  const caCerts: Record<string, string[]> = {};
  const ca = parsed['ca-certs'];
  if (ca !== undefined) {
    if (ca === null || typeof ca !== 'object' || Array.isArray(ca))
      throw new TsbuildError('registry/bad-config', `${file}: "ca-certs" must map hosts to PEM file paths`);
    for (const [host, v] of Object.entries(ca)) caCerts[host] = typeof v === 'string' ? [v] : strings(v, `ca-certs.${host}`, file ?? '');
  }
  if (env.TSBUILD_REGISTRY_CA) caCerts['*'] = [...(caCerts['*'] ?? []), env.TSBUILD_REGISTRY_CA];
  return { mirrors, insecure, caCerts, ...(file !== undefined ? { source: file } : {}) };
}

/** `mirror.example.com` → `https://mirror.example.com`; trailing slashes dropped; rejects paths and bad schemes. */
export function normalizeMirror(m: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(m) ? m : `https://${m}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new TsbuildError('registry/bad-config', `invalid registry mirror "${m}"`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new TsbuildError('registry/bad-config', `invalid registry mirror "${m}": scheme must be http or https`);
  if (u.pathname !== '/' && u.pathname !== '') throw new TsbuildError('registry/bad-config', `invalid registry mirror "${m}": a mirror is a host, not a path`);
  return `${u.protocol}//${u.host}`;
}

/** Loopback hosts may always use plain HTTP, as dockerd treats 127.0.0.0/8 as insecure. */
export function isLoopbackHost(host: string): boolean {
  const h = hostname(host);
  return h === 'localhost' || h === '::1' || /^127(?:\.\d{1,3}){3}$/.test(h);
}

/** `host:port` → `host`; `[::1]:5000` → `::1`. */
export function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const i = host.lastIndexOf(':');
  return i >= 0 && host.indexOf(':') === i ? host.slice(0, i) : host;
}

/** True when `host` is listed as insecure: plain HTTP allowed and its TLS certificate left unverified. */
export function isInsecureHost(cfg: RegistryConfig, host: string): boolean {
  return cfg.insecure.includes(host) || cfg.insecure.includes(hostname(host));
}

/**
 * True when `host` may be reached over plain HTTP when HTTPS is not spoken there: insecure hosts and loopback.
 * Unlike dockerd, a loopback host that does speak TLS still gets its certificate verified (only a listed insecure
 * host skips verification), so a local TLS registry proves its CA setup.
 */
export function allowsPlainHttp(cfg: RegistryConfig, host: string): boolean {
  return isLoopbackHost(host) || isInsecureHost(cfg, host);
}
