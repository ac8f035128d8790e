/**
 * The registry pieces that need no registry: challenge parsing, the token cache, docker's credential file and
 * credential helpers, the registry config file, platform picking.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseChallenges, TokenCache } from '../../registry/auth.ts';
import { allowsPlainHttp, isInsecureHost, loadRegistryConfig } from '../../registry/config.ts';
import { CredentialStore, DOCKER_HUB_KEY } from '../../registry/credentials.ts';
import { pickPlatform } from '../../registry/pull.ts';
import { tempDir } from '../helpers/env.ts';

describe('WWW-Authenticate parsing', () => {
  test('Bearer with quoted params, commas inside quotes, several challenges', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="Registry Realm", Bearer realm="https://x/t", error="insufficient_scope"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', error: 'insufficient_scope' } },
    ]);
    expect(parseChallenges('Basic realm=unquoted')).toEqual([{ scheme: 'basic', params: { realm: 'unquoted' } }]);
    expect(parseChallenges('Bearer realm="a\\"b"')[0]!.params.realm).toBe('a"b');
  });
});

describe('token cache', () => {
  test('tokens expire 10 s before their lifetime ends; default lifetime 60 s', () => {
    let now = 1_000_000;
    const c = new TokenCache(() => now);
    const k = TokenCache.key('r', 's', ['b', 'a'], 'u');
    expect(k).toBe(TokenCache.key('r', 's', ['a', 'b'], 'u'));
    c.set(k, 'T', 30);
    now += 19_000;
    expect(c.get(k)).toBe('T');
    now += 1_000;
    expect(c.get(k)).toBeUndefined();
    c.set(k, 'D');
    now += 49_000;
    expect(c.get(k)).toBe('D');
    now += 2_000;
    expect(c.get(k)).toBeUndefined();
  });
});

describe('docker config.json credentials', () => {
  test('set, get and erase in auths, keeping other fields; Docker Hub uses its v1 key', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ auths: { 'https://other.example.com/v1/': { auth: Buffer.from('o:p').toString('base64') } }, psFormat: 'table' }));
    const store = new CredentialStore({ PATH: '' }, file);
    expect(await store.get('other.example.com')).toEqual({ username: 'o', password: 'p' });
    await store.set('docker.io', { username: 'me', password: 'pw:with:colons' });
    await store.set('localhost:5000', { username: 'l', password: 'x' });
    const j = JSON.parse(readFileSync(file, 'utf8')) as { auths: Record<string, { auth: string }>; psFormat: string };
    expect(j.psFormat).toBe('table');
    expect(Object.keys(j.auths).sort()).toEqual([DOCKER_HUB_KEY, 'https://other.example.com/v1/', 'localhost:5000'].sort());
    expect(await store.get('docker.io')).toEqual({ username: 'me', password: 'pw:with:colons' });
    expect(await store.erase('docker.io')).toBe(true);
    expect(await store.get('docker.io')).toBeUndefined();
    expect(await store.erase('docker.io')).toBe(false);
    expect(await store.get('localhost:5000')).toEqual({ username: 'l', password: 'x' });
  });

  test('a malformed file is a clear error', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'config.json');
    writeFileSync(file, '{nope');
    await expect(new CredentialStore({ PATH: '' }, file).get('docker.io')).rejects.toMatchObject({ code: 'registry/credentials', message: expect.stringContaining('is not valid JSON') });
  });

  test('credsStore / credHelpers go through docker-credential-<name>', async () => {
    const dir = await tempDir();
    const bin = path.join(dir, 'bin');
    const db = path.join(dir, 'helper-db');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bin);
    // A helper speaking the docker-credential protocol, storing one JSON record per server in files.
    const script = `#!/bin/sh
set -e
input=$(cat)
case "$1" in
  store) key=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p' | tr '/:' '__'); printf '%s' "$input" > "${db}/$key" ;;
  get) key=$(printf '%s' "$input" | tr '/:' '__'); if [ -f "${db}/$key" ]; then cat "${db}/$key"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) key=$(printf '%s' "$input" | tr '/:' '__'); rm "${db}/$key" ;;
esac
`;
    mkdirSync(db);
    writeFileSync(path.join(bin, 'docker-credential-fake'), script);
    chmodSync(path.join(bin, 'docker-credential-fake'), 0o755);
    const file = path.join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ credHelpers: { 'reg.example.com': 'fake' } }));
    const env = { PATH: `${bin}:/usr/bin:/bin` };
    const store = new CredentialStore(env, file);
    expect(await store.get('reg.example.com')).toBeUndefined();
    expect(await store.set('reg.example.com', { username: 'h', password: 'secret' })).toEqual({ helper: 'fake' });
    expect(readFileSync(file, 'utf8')).not.toContain('secret');
    expect(await store.get('reg.example.com')).toEqual({ username: 'h', password: 'secret' });
    // Hosts without a helper still use auths.
    await store.set('plain.example.com', { username: 'p', password: 'q' });
    expect(readFileSync(file, 'utf8')).toContain(Buffer.from('p:q').toString('base64'));
    expect(await store.erase('reg.example.com')).toBe(true);
    expect(await store.get('reg.example.com')).toBeUndefined();
  });
});

describe('registry config', () => {
  test('mirrors and insecure registries from the file and the environment', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'registries.json');
    writeFileSync(file, JSON.stringify({ 'registry-mirrors': ['mirror.example.com/', 'http://10.0.0.1:5000'], 'insecure-registries': ['build.lan:5000'], 'ca-certs': { 'build.lan:5000': '/x/ca.pem' } }));
    const cfg = loadRegistryConfig({ TSBUILD_REGISTRY_CONFIG: file, TSBUILD_REGISTRY_MIRRORS: 'https://first.example.com' });
    expect(cfg.mirrors).toEqual(['https://first.example.com', 'https://mirror.example.com', 'http://10.0.0.1:5000']);
    expect(cfg.caCerts).toEqual({ 'build.lan:5000': ['/x/ca.pem'] });
    expect(isInsecureHost(cfg, 'build.lan:5000')).toBe(true);
    expect(allowsPlainHttp(cfg, 'build.lan:5000')).toBe(true);
    expect(allowsPlainHttp(cfg, 'localhost:5000')).toBe(true);
    expect(allowsPlainHttp(cfg, '127.0.0.1:5000')).toBe(true);
    expect(isInsecureHost(cfg, '127.0.0.1:5000')).toBe(false);
    expect(allowsPlainHttp(cfg, 'registry.example.com')).toBe(false);
  });

  test('bad files and mirrors are clear errors', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'registries.json');
    writeFileSync(file, JSON.stringify({ 'registry-mirrors': 'not-a-list' }));
    expect(() => loadRegistryConfig({ TSBUILD_REGISTRY_CONFIG: file })).toThrow(/"registry-mirrors" must be an array of strings/);
    writeFileSync(file, JSON.stringify({ 'registry-mirrors': ['https://m.example.com/some/path'] }));
    expect(() => loadRegistryConfig({ TSBUILD_REGISTRY_CONFIG: file })).toThrow(/a mirror is a host, not a path/);
    writeFileSync(file, '[1');
    expect(() => loadRegistryConfig({ TSBUILD_REGISTRY_CONFIG: file })).toThrow(/is not a JSON object/);
  });
});

describe('platform picking', () => {
  const d = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;
  const index = {
    manifests: [
      { digest: d(1), platform: { os: 'linux', architecture: 'amd64' } },
      { digest: d(2), platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { digest: d(3), platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { digest: d(4), platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } },
      { digest: d(5), platform: { os: 'windows', architecture: 'amd64' } },
    ],
  };
  test('os, architecture and variant (arm64 means v8)', () => {
    expect(pickPlatform(index, { os: 'linux', architecture: 'amd64' })).toBe(d(1));
    expect(pickPlatform(index, { os: 'linux', architecture: 'arm64' })).toBe(d(3));
    expect(pickPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(d(2));
    expect(pickPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v6' })).toBeUndefined();
    expect(pickPlatform(index, { os: 'windows', architecture: 'amd64' })).toBe(d(5));
    expect(pickPlatform(index, { os: 'linux', architecture: 'riscv64' })).toBeUndefined();
  });
});
