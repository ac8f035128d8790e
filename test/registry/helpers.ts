/**
 * Test rigs for the registry client: real Debian `docker-registry` processes (plain, or TLS + htpasswd with a CA
 * made here with openssl), temp stores, images put through the store API, and a small HTTP proxy that can tamper
 * with blobs or cut connections.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pack } from 'tar-stream';
import { openStore, type Store } from '../../cache/store.ts';
import { MediaType, type Descriptor } from '../../cache/types.ts';
import type { ImageConfig } from '../../compiler/graph.ts';
import { digestOf, type Digest } from '../../util/digest.ts';
import { which } from '../helpers/env.ts';

/** Fails loudly when a tool the registry tests need is missing (they never skip). */
export function requireTools(tools: readonly string[]): void {
  const missing = tools.filter((t) => !which(t));
  if (missing.length > 0) throw new Error(`the registry tests need ${missing.join(', ')} on PATH (apt-get install docker-registry skopeo apache2-utils openssl)`);
}

/** A free TCP port on 127.0.0.1 (listen on 0, read it back, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TempStore {
  readonly store: Store;
  readonly root: string;
  cleanup(): Promise<void>;
}

export async function tempStore(prefix = 'tsbuild-reg-store-'): Promise<TempStore> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  const store = await openStore(root);
  return { store, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** An uncompressed layer tar holding one file `name` with `size` random bytes. */
export async function randomLayerTar(name: string, size: number): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  p.entry({ name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, randomBytes(size));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** Puts an image whose layers each hold one random file of the given size (bytes), tags it `name`. */
export async function putRandomImage(store: Store, name: string, layerSizes: readonly number[]): Promise<{ manifestDigest: Digest; configDigest: Digest; layers: Descriptor[] }> {
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  for (const [i, size] of layerSizes.entries()) {
    const tar = await randomLayerTar(`file-${i}.bin`, size);
    const d = await store.blobs.putBytes(tar);
    layers.push({ mediaType: MediaType.layer, digest: d, size: tar.length });
    diffIds.push(digestOf(tar));
  }
  const config: ImageConfig = {
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { nonce: randomBytes(8).toString('hex') } },
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
  const r = await store.putImage({ config, layers });
  await store.tagImage(name, r.manifestDigest);
  return { ...r, layers };
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT` as used in image names. */
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

export interface RegistryRigOptions {
  /** PEM paths for a TLS listener. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** An htpasswd file (bcrypt) enabling Basic auth. */
  readonly htpasswd?: string;
}

/** Starts `docker-registry serve` on a free 127.0.0.1 port with a temp storage dir; waits until /v2/ answers. */
export async function startRegistry(opts: RegistryRigOptions = {}): Promise<RunningRegistry> {
  requireTools(['docker-registry']);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tsbuild-registry-'));
  const port = await freePort();
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${dir}/data`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (opts.tls) lines.push('  tls:', `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`);
  if (opts.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${opts.htpasswd}`);
  writeFileSync(path.join(dir, 'config.yml'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited ${child.exitCode}: ${stderr}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`docker-registry did not listen on ${port} within 15 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host: `127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A CA and a server certificate for 127.0.0.1/localhost signed by it, made with openssl in `dir`. */
export function makeCa(dir: string): { ca: string; cert: string; key: string } {
  requireTools(['openssl']);
  const p = (f: string): string => path.join(dir, f);
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'pipe' });
  };
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=tsbuild test CA']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf')]);
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.key') };
}

/** An htpasswd file (bcrypt, as the registry requires) for one user. */
export function makeHtpasswd(file: string, user: string, password: string): void {
  requireTools(['htpasswd']);
  writeFileSync(file, execFileSync('htpasswd', ['-Bbn', user, password]));
}

export interface ProxyRequestLog {
  readonly method: string;
  readonly url: string;
  readonly range?: string;
  readonly contentRange?: string;
  readonly authorization?: string;
}

export interface TestProxy {
  readonly host: string;
  readonly requests: ProxyRequestLog[];
  /** Changes what the proxy does to the next requests. */
  mode: ProxyMode;
  stop(): Promise<void>;
}

export interface ProxyMode {
  /** Flip one byte in the body of GET responses for blobs with this digest. */
  readonly tamperBlob?: string;
  /** Destroy the client connection after this many body bytes of a blob GET (once per `cutTimes`). */
  readonly cutBlobAfter?: number;
  /** Destroy the connection after this many bytes of a PATCH request body reached the registry. */
  readonly cutPatchAfter?: number;
  /** Let this many PATCH requests through untouched before cutting. */
  readonly cutPatchSkip?: number;
  /** How many cuts to perform before passing everything through; default unlimited. */
  readonly cutTimes?: number;
  /** Answer the first `failCount` requests with this status (503, 429) without forwarding them. */
  readonly failStatus?: number;
  readonly failCount?: number;
}

/** An HTTP proxy in front of a plain registry at `target` (`127.0.0.1:PORT`), rewriting Location headers. */
export async function startProxy(target: string, mode: ProxyMode = {}): Promise<TestProxy> {
  const [thost, tport] = target.split(':') as [string, string];
  const requests: ProxyRequestLog[] = [];
  let cuts = 0;
  let failed = 0;
  let patches = 0;
  const state: { mode: ProxyMode } = { mode };
  const cutAllowed = (): boolean => state.mode.cutTimes === undefined || cuts < state.mode.cutTimes;
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers['content-range'] ? { contentRange: String(req.headers['content-range']) } : {}),
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    });
    if (state.mode.failStatus !== undefined && failed < (state.mode.failCount ?? 0)) {
      failed++;
      req.resume();
      res.writeHead(state.mode.failStatus, { 'retry-after': '0', 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
      return;
    }
    const up = http.request({ host: thost, port: Number(tport), method: req.method, path: req.url, headers: { ...req.headers, host: target } }, (upRes) => {
      const headers = { ...upRes.headers };
      const selfHost = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      if (typeof headers.location === 'string') headers.location = headers.location.replace(target, selfHost);
      const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '');
      const tamper = isBlobGet && state.mode.tamperBlob !== undefined && (req.url ?? '').endsWith(state.mode.tamperBlob);
      const cutAt = isBlobGet && state.mode.cutBlobAfter !== undefined && cutAllowed() ? state.mode.cutBlobAfter : undefined;
      res.writeHead(upRes.statusCode ?? 502, headers);
      let sent = 0;
      let flipped = false;
      upRes.on('data', (c: Buffer) => {
        if (tamper && !flipped && c.length > 0) {
          c = Buffer.from(c);
          c[c.length >> 1] = c[c.length >> 1]! ^ 0xff;
          flipped = true;
        }
        if (cutAt !== undefined && sent + c.length > cutAt) {
          res.write(c.subarray(0, Math.max(0, cutAt - sent)));
          cuts++;
          upRes.destroy();
          res.socket?.destroy();
          return;
        }
        sent += c.length;
        res.write(c);
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.socket?.destroy());
    let received = 0;
    const patchIndex = req.method === 'PATCH' ? patches++ : -1;
    const cutPatch = req.method === 'PATCH' && state.mode.cutPatchAfter !== undefined && cutAllowed() && patchIndex >= (state.mode.cutPatchSkip ?? 0) ? state.mode.cutPatchAfter : undefined;
    req.on('data', (c: Buffer) => {
      if (cutPatch !== undefined && received + c.length > cutPatch) {
        up.write(c.subarray(0, Math.max(0, cutPatch - received)));
        received = cutPatch;
        cuts++;
        // End the upstream request short (the registry keeps what arrived) and drop the client.
        up.destroy();
        req.socket.destroy();
        return;
      }
      received += c.length;
      up.write(c);
    });
    req.on('end', () => up.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    get mode() {
      return state.mode;
    },
    set mode(m: ProxyMode) {
      state.mode = m;
      cuts = 0;
      failed = 0;
      patches = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
