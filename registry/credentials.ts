/**
 * Registry credentials in docker's own file, `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), so
 * `docker login` and `tsbuild login` share them: `auths` entries (base64 `user:password`, or an identity token),
 * and `credsStore` / `credHelpers` through the `docker-credential-<name>` helper protocol (get/store/erase on stdin).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../cache/atomic.ts';
import { TsbuildError } from '../util/errors.ts';

/** What authenticates a user at a registry. Exactly one of password / identityToken is set. */
export interface Credentials {
  readonly username: string;
  readonly password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`, a helper's `<token>` user), exchanged at the token realm. */
  readonly identityToken?: string;
}

/** The key docker uses for Docker Hub in config.json and with credential helpers. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

/** The config.json path: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
}

/** The server key for a registry host (`docker.io` → `https://index.docker.io/v1/`, others as given). */
export function serverKey(host: string): string {
  return host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB_KEY : host;
}

/** `https://host:5000/v1/` → `host:5000` (how docker matches `auths` keys written by older clients). */
function keyHost(key: string): string {
  const h = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return h === 'index.docker.io' || h === 'registry-1.docker.io' ? 'docker.io' : h;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  [k: string]: unknown;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [k: string]: unknown;
}

/** Reads and writes one config.json; every other field in the file is preserved on write. */
export class CredentialStore {
  readonly path: string;
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env, path = dockerConfigPath(env)) {
    this.#env = env;
    this.path = path;
  }

  async #read(): Promise<DockerConfigFile> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new TsbuildError('registry/credentials', `cannot read ${this.path}: ${(e as Error).message}`);
    }
    if (text.trim() === '') return {};
    try {
      const j = JSON.parse(text) as unknown;
      if (j === null || typeof j !== 'object' || Array.isArray(j)) throw new Error('not a JSON object');
      return j as DockerConfigFile;
    } catch (e) {
      throw new TsbuildError('registry/credentials', `${this.path} is not valid JSON: ${(e as Error).message}`);
    }
  }

  async #write(cfg: DockerConfigFile): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.path, `${JSON.stringify(cfg, null, '\t')}\n`, 0o600);
  }

  /** The helper that owns `host`, if any: `credHelpers[host]`, else `credsStore`. */
  #helperFor(cfg: DockerConfigFile, host: string): string | undefined {
    const key = serverKey(host);
    return cfg.credHelpers?.[key] ?? cfg.credHelpers?.[host] ?? (cfg.credsStore || undefined);
  }

  /** Credentials for `host` (`docker.io`, `localhost:5000`), or undefined for anonymous access. */
  async get(host: string): Promise<Credentials | undefined> {
    const cfg = await this.#read();
    const helper = this.#helperFor(cfg, host);
    if (helper !== undefined && helperPresent(helper, this.#env)) {
      const out = await runHelper(helper, 'get', serverKey(host), this.#env).catch((e: unknown) => {
        // "credentials not found" is how helpers answer for an unknown server.
        if (/not found/i.test(String((e as Error).message))) return undefined;
        throw e;
      });
      if (out === undefined) return undefined;
      const j = parseHelperJson(helper, out) as { Username?: string; Secret?: string };
      if (!j.Secret) return undefined;
      return j.Username === '<token>' ? { username: '', identityToken: j.Secret } : { username: j.Username ?? '', password: j.Secret };
    }
    for (const [key, e] of Object.entries(cfg.auths ?? {})) {
      if (key !== serverKey(host) && keyHost(key) !== host) continue;
      if (e.identitytoken) return { username: e.username ?? '', identityToken: e.identitytoken };
      if (e.auth) {
        const dec = Buffer.from(e.auth, 'base64').toString('utf8');
        const i = dec.indexOf(':');
        if (i < 0) throw new TsbuildError('registry/credentials', `${this.path}: the auth entry for ${key} is malformed (expected base64 "user:password")`);
        return { username: dec.slice(0, i), password: dec.slice(i + 1) };
      }
      if (e.username && e.password) return { username: e.username, password: e.password };
    }
    return undefined;
  }

  /** Saves credentials for `host` (through its helper when one is configured and installed). */
  async set(host: string, creds: Credentials): Promise<{ helper?: string }> {
    const cfg = await this.#read();
    const helper = this.#helperFor(cfg, host);
    if (helper !== undefined && helperPresent(helper, this.#env)) {
      const secret = creds.identityToken ?? creds.password ?? '';
      const user = creds.identityToken !== undefined ? '<token>' : creds.username;
      await runHelper(helper, 'store', JSON.stringify({ ServerURL: serverKey(host), Username: user, Secret: secret }), this.#env);
      // docker leaves an empty auths entry so `docker info`-style listings know the server.
      cfg.auths = { ...cfg.auths, [serverKey(host)]: {} };
      await this.#write(cfg);
      return { helper };
    }
    const entry: AuthEntry =
      creds.identityToken !== undefined
        ? { auth: Buffer.from(`${creds.username}:`).toString('base64'), identitytoken: creds.identityToken }
        : { auth: Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64') };
    const auths = { ...cfg.auths };
    for (const k of Object.keys(auths)) if (keyHost(k) === keyHost(serverKey(host))) delete auths[k];
    auths[serverKey(host)] = entry;
    await this.#write({ ...cfg, auths });
    return {};
  }

  /** Removes credentials for `host`; returns false when there were none. */
  async erase(host: string): Promise<boolean> {
    const cfg = await this.#read();
    let found = false;
    const helper = this.#helperFor(cfg, host);
    if (helper !== undefined && helperPresent(helper, this.#env)) {
      found = await runHelper(helper, 'erase', serverKey(host), this.#env).then(
        () => true,
        () => false,
      );
    }
    const auths = { ...cfg.auths };
    for (const k of Object.keys(auths)) {
      if (k === serverKey(host) || keyHost(k) === host) {
        delete auths[k];
        found = true;
      }
    }
    if (found) await this.#write({ ...cfg, auths });
    return found;
  }
}

function helperPresent(name: string, env: NodeJS.ProcessEnv): boolean {
  return helperPath(name, env) !== undefined;
}

function helperPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new TsbuildError('registry/credentials', `invalid credential helper name "${name}"`);
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const p = join(dir, `docker-credential-${name}`);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function runHelper(name: string, action: 'get' | 'store' | 'erase', input: string, env: NodeJS.ProcessEnv): Promise<string> {
  const bin = helperPath(name, env);
  if (bin === undefined) return Promise.reject(new TsbuildError('registry/credentials', `docker-credential-${name} is not on PATH`));
  return new Promise((resolve, reject) => {
    const child = execFile(bin, [action], { env, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const msg = `${stdout}${stderr}`.trim() || err.message;
        reject(new TsbuildError('registry/credentials', `docker-credential-${name} ${action} failed: ${msg}`));
      } else resolve(stdout);
    });
    child.stdin?.end(input);
  });
}

function parseHelperJson(name: string, out: string): unknown {
  try {
    return JSON.parse(out) as unknown;
  } catch {
    throw new TsbuildError('registry/credentials', `docker-credential-${name} get printed something that is not JSON`);
  }
}
