/**
 * Authentication: a TLS registry with htpasswd (Basic) auth and a test CA; the CLI's login/logout writing docker's
 * config.json; the Bearer token flow (a token-checking front in front of a plain registry); redirects that must not
 * carry credentials to another host.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RegistryClient } from '../../registry/client.ts';
import { CredentialStore } from '../../registry/credentials.ts';
import { pullImage } from '../../registry/pull.ts';
import { pushImage } from '../../registry/push.ts';
import { tsbuildCli } from '../helpers/cli.ts';
import { makeCa, makeHtpasswd, putRandomImage, startRegistry, tempStore, type RunningRegistry, type TempStore } from './helpers.ts';

const noConfig = { mirrors: [], insecure: [], caCerts: {} };
let dir: string;
let ca: { ca: string; cert: string; key: string };
let tlsReg: RunningRegistry;
let plainReg: RunningRegistry;
const stores: TempStore[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-reg-auth-'));
  ca = makeCa(dir);
  makeHtpasswd(path.join(dir, 'htpasswd'), 'alice', 's3cret-pw');
  tlsReg = await startRegistry({ tls: { cert: ca.cert, key: ca.key }, htpasswd: path.join(dir, 'htpasswd') });
  plainReg = await startRegistry();
});
afterAll(async () => {
  await tlsReg?.stop();
  await plainReg?.stop();
  for (const s of stores) await s.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function newStore(): Promise<TempStore> {
  const s = await tempStore();
  stores.push(s);
  return s;
}

describe('TLS registry with htpasswd auth', () => {
  test('an unknown CA is a clear TLS error (a loopback TLS registry is still verified)', async () => {
    const s = await newStore();
    await putRandomImage(s.store, `${tlsReg.host}/a/b:1`, [100]);
    const c = new RegistryClient({ config: noConfig, credentials: { get: async () => undefined }, retries: 0 });
    await expect(pushImage(s.store, `${tlsReg.host}/a/b:1`, { client: c })).rejects.toMatchObject({ code: 'registry/tls', suggestion: expect.stringContaining('--ca-cert') });
    await c.close();
  });

  test('without credentials a push is denied; with them push and pull work and digests match', async () => {
    const s = await newStore();
    const name = `${tlsReg.host}/team/secure:1`;
    const img = await putRandomImage(s.store, name, [50_000, 1000]);
    const anon = new RegistryClient({ config: noConfig, caCerts: [ca.ca], credentials: { get: async () => undefined } });
    await expect(pushImage(s.store, name, { client: anon })).rejects.toMatchObject({ code: 'registry/push-access-denied', message: expect.stringContaining(`push access denied for ${tlsReg.host}/team/secure`) });
    await anon.close();

    const wrong = new RegistryClient({ config: noConfig, caCerts: [ca.ca], credentials: { get: async () => ({ username: 'alice', password: 'nope' }) } });
    await expect(pushImage(s.store, name, { client: wrong })).rejects.toMatchObject({ code: 'registry/push-access-denied' });
    await wrong.close();

    const c = new RegistryClient({ config: noConfig, caCerts: [ca.ca], credentials: { get: async (h) => (h === tlsReg.host ? { username: 'alice', password: 's3cret-pw' } : undefined) } });
    expect((await pushImage(s.store, name, { client: c })).manifestDigest).toBe(img.manifestDigest);
    const dst = await newStore();
    expect((await pullImage(dst.store, name, { client: c })).manifestDigest).toBe(img.manifestDigest);
    await c.close();

    const anonPull = new RegistryClient({ config: noConfig, caCerts: [ca.ca], credentials: { get: async () => undefined } });
    await expect(pullImage((await newStore()).store, name, { client: anonPull })).rejects.toMatchObject({
      code: 'registry/pull-access-denied',
      message: expect.stringContaining("repository does not exist or may require 'tsbuild login'"),
    });
    await anonPull.close();
  });

  test('tsbuild login / push / pull / logout through the CLI with a credentials file', async () => {
    const dockerConfig = await mkdtemp(path.join(dir, 'docker-'));
    const storeRoot = await mkdtemp(path.join(dir, 'store-'));
    const env = { DOCKER_CONFIG: dockerConfig, TSBUILD_ROOT: storeRoot, TSBUILD_REGISTRY_CONFIG: path.join(dir, 'none.json') };
    await writeFile(env.TSBUILD_REGISTRY_CONFIG, '{}');
    const bad = await tsbuildCli(['login', '-u', 'alice', '--password-stdin', '--ca-cert', ca.ca, tlsReg.host], { env, input: 'wrong\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`login to ${tlsReg.host} failed: unauthorized: incorrect username or password`);
    expect(existsSync(path.join(dockerConfig, 'config.json'))).toBe(false);

    const ok = await tsbuildCli(['login', '-u', 'alice', '--password-stdin', '--ca-cert', ca.ca, tlsReg.host], { env, input: 's3cret-pw\n' });
    expect(ok.stdout).toContain('Login Succeeded');
    expect(ok.code).toBe(0);
    const cfg = JSON.parse(readFileSync(path.join(dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(cfg.auths[tlsReg.host]!.auth, 'base64').toString()).toBe('alice:s3cret-pw');

    const s = await openStoreAt(storeRoot);
    const img = await putRandomImage(s, `${tlsReg.host}/cli/app:2`, [3000]);
    const push = await tsbuildCli(['push', '--ca-cert', ca.ca, `${tlsReg.host}/cli/app:2`], { env });
    expect(push.stderr).toBe('');
    expect(push.stdout).toContain(`2: digest: ${img.manifestDigest} size: `);
    const pullRoot = await mkdtemp(path.join(dir, 'store-'));
    const pull = await tsbuildCli(['pull', '--ca-cert', ca.ca, `${tlsReg.host}/cli/app:2`], { env: { ...env, TSBUILD_ROOT: pullRoot } });
    expect(pull.code).toBe(0);
    expect(pull.stdout).toContain(`Digest: ${img.manifestDigest}`);
    expect(pull.stdout.trim().split('\n').pop()).toBe(`${tlsReg.host}/cli/app:2`);

    const out = await tsbuildCli(['logout', tlsReg.host], { env });
    expect(out.stdout).toBe(`Removing login credentials for ${tlsReg.host}\n`);
    expect(await new CredentialStore({ ...process.env, DOCKER_CONFIG: dockerConfig }).get(tlsReg.host)).toBeUndefined();
    const denied = await tsbuildCli(['pull', '--ca-cert', ca.ca, `${tlsReg.host}/cli/app:2`], { env: { ...env, TSBUILD_ROOT: pullRoot } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`pull access denied for ${tlsReg.host}/cli/app`);
  });
});

async function openStoreAt(root: string) {
  const { openStore } = await import('../../cache/store.ts');
  return openStore(root);
}

/** A Bearer-token front for a plain registry: checks tokens it issued, with the scopes it issued them for. */
async function startTokenFront(target: string, user: string, password: string) {
  const tokens = new Map<string, string[]>();
  const log = { tokenRequests: [] as string[], authorizations: [] as string[] };
  const server = http.createServer((req, res) => {
    const self = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const url = new URL(req.url ?? '/', `http://${self}`);
    if (url.pathname === '/token') {
      log.tokenRequests.push(url.search);
      const auth = req.headers.authorization;
      if (auth !== `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`) {
        res.writeHead(401).end('{"details":"bad credentials"}');
        return;
      }
      const token = `tok-${tokens.size + 1}`;
      tokens.set(token, url.searchParams.getAll('scope'));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname);
    const needed = m ? `repository:${m[1]}:${req.method === 'GET' || req.method === 'HEAD' ? 'pull' : 'pull,push'}` : undefined;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    log.authorizations.push(req.headers.authorization ?? '');
    const granted = bearer !== undefined ? tokens.get(bearer) : undefined;
    const ok = granted !== undefined && (needed === undefined || granted.some((g) => g === needed || (needed.endsWith(':pull') && g === needed.replace(/:pull$/, ':pull,push'))));
    if (!ok) {
      req.resume();
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${self}/token",service="test-registry"${needed ? `,scope="${needed}"` : ''}`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const [h, p] = target.split(':');
    const up = http.request({ host: h, port: Number(p), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (r) => {
      const headers = { ...r.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(target, self);
      res.writeHead(r.statusCode ?? 502, headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, log, stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) };
}

describe('Bearer token flow', () => {
  test('tokens are fetched with Basic credentials per scope and cached', async () => {
    const front = await startTokenFront(plainReg.host, 'bob', 'pw');
    try {
      const s = await newStore();
      const name = `${front.host}/tok/app:1`;
      const img = await putRandomImage(s.store, name, [1000, 2000, 3000]);
      const c = new RegistryClient({ config: noConfig, credentials: { get: async () => ({ username: 'bob', password: 'pw' }) } });
      expect((await pushImage(s.store, name, { client: c })).manifestDigest).toBe(img.manifestDigest);
      // One token for repository:tok/app:pull,push, reused for every blob and the manifest.
      expect(front.log.tokenRequests.length).toBe(1);
      expect(decodeURIComponent(front.log.tokenRequests[0]!)).toContain('scope=repository:tok/app:pull,push');
      expect(front.log.tokenRequests[0]).toContain('service=test-registry');
      const dst = await newStore();
      expect((await pullImage(dst.store, name, { client: c })).manifestDigest).toBe(img.manifestDigest);
      expect(front.log.tokenRequests.length).toBe(2);
      await c.close();

      const bad = new RegistryClient({ config: noConfig, credentials: { get: async () => ({ username: 'bob', password: 'wrong' }) } });
      await expect(pullImage((await newStore()).store, name, { client: bad })).rejects.toMatchObject({ code: 'registry/unauthorized', message: expect.stringContaining('authentication failed for user "bob"') });
      await bad.close();
    } finally {
      await front.stop();
    }
  });
});

describe('redirects', () => {
  test('credentials are never sent to another host on redirect', async () => {
    const seen: Array<string | undefined> = [];
    const other = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('hello');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherHost = `127.0.0.1:${(other.address() as AddressInfo).port}`;
    const authSeen: Array<string | undefined> = [];
    const origin = http.createServer((req, res) => {
      authSeen.push(req.headers.authorization);
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
        return;
      }
      // Same IP, other port = another origin.
      res.writeHead(307, { location: `http://${otherHost}/storage/blob?sig=1` }).end();
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    const originHost = `127.0.0.1:${(origin.address() as AddressInfo).port}`;
    try {
      const c = new RegistryClient({ config: noConfig, credentials: { get: async () => ({ username: 'u', password: 'p' }) } });
      const ep = await c.endpoint(originHost);
      const res = await c.send(ep, { method: 'GET', path: '/v2/x/blobs/sha256:00', scopes: [] });
      expect(res.status).toBe(200);
      expect(await res.body.text()).toBe('hello');
      expect(authSeen.at(-1)).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
      expect(seen).toEqual([undefined]);
      await c.close();
    } finally {
      other.closeAllConnections();
      origin.closeAllConnections();
      other.close();
      origin.close();
    }
  });
});
