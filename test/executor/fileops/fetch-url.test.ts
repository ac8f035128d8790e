import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchUrl, urlFilename } from '../../../executor/fileops/fetch-url.ts';
import { tempDir } from '../../helpers/env.ts';

const BODY = 'downloaded content\n'.repeat(1000);
const BODY_SHA = `sha256:${createHash('sha256').update(BODY).digest('hex')}`;
const LAST_MODIFIED = 'Wed, 21 Oct 2015 07:28:00 GMT';

let server: Server;
let base: string;
let requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/files/app.tar.gz' || req.url === '/files/app.tar.gz?x=1') {
      res.writeHead(200, { 'Last-Modified': LAST_MODIFIED, 'Content-Disposition': 'attachment; filename="other.bin"' });
      res.end(BODY);
    } else if (req.url === '/redirect') {
      res.writeHead(302, { Location: '/files/app.tar.gz' });
      res.end();
    } else if (req.url === '/') {
      res.writeHead(200);
      res.end('index');
    } else {
      res.writeHead(404);
      res.end('nope');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('fetchUrl (ADD <url>)', () => {
  it('downloads with mode 0600, mtime from Last-Modified, name from the URL path', async () => {
    const dir = await tempDir('tsbuild-fetch-');
    const destFile = path.join(dir, 'out');
    const res = await fetchUrl(`${base}/files/app.tar.gz?x=1`, { destFile });
    expect(await readFile(destFile, 'utf8')).toBe(BODY);
    const st = await stat(destFile);
    expect(st.mode & 0o7777).toBe(0o600);
    expect(st.mtime.toUTCString()).toBe(LAST_MODIFIED);
    expect(res).toEqual({ filename: 'app.tar.gz', lastModified: new Date(LAST_MODIFIED), digest: BODY_SHA, size: BODY.length });
    expect(await readdir(dir)).toEqual(['out']);
  });

  it('accepts a matching --checksum and follows redirects', async () => {
    const dir = await tempDir('tsbuild-fetch-');
    const destFile = path.join(dir, 'out');
    const res = await fetchUrl(`${base}/redirect`, { destFile, checksum: BODY_SHA });
    expect(res.digest).toBe(BODY_SHA);
    expect(await readFile(destFile, 'utf8')).toBe(BODY);
  });

  it('rejects a checksum mismatch naming both digests, and writes nothing', async () => {
    const dir = await tempDir('tsbuild-fetch-');
    const destFile = path.join(dir, 'out');
    const wrong = `sha256:${'0'.repeat(64)}`;
    const err = await fetchUrl(`${base}/files/app.tar.gz`, { destFile, checksum: wrong }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'fileops/checksum-mismatch' });
    expect((err as Error).message).toContain(wrong);
    expect((err as Error).message).toContain(BODY_SHA);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a malformed checksum before any request', async () => {
    const dir = await tempDir('tsbuild-fetch-');
    const before = requests.length;
    await expect(fetchUrl(`${base}/files/app.tar.gz`, { destFile: path.join(dir, 'o'), checksum: 'md5:abc' })).rejects.toMatchObject({
      code: 'fileops/invalid-checksum',
    });
    expect(requests.length).toBe(before);
  });

  it('fails clearly on an HTTP error status and on a refused connection', async () => {
    const dir = await tempDir('tsbuild-fetch-');
    await expect(fetchUrl(`${base}/missing`, { destFile: path.join(dir, 'o') })).rejects.toMatchObject({
      code: 'fileops/url-fetch-failed',
      message: `failed to fetch ${base}/missing: invalid response status 404`,
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(fetchUrl(`http://127.0.0.1:${port}/x`, { destFile: path.join(dir, 'o') })).rejects.toMatchObject({
      code: 'fileops/url-fetch-failed',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    ['https://example.com/a/b/file.tgz', 'file.tgz'],
    ['https://example.com/a/b/', 'b'],
    ['https://example.com/', '__unnamed__'],
    ['https://example.com', '__unnamed__'],
    ['https://example.com/dl/my%20file.txt?token=1#frag', 'my file.txt'],
  ])('urlFilename(%j) = %j', (url, name) => {
    expect(urlFilename(url)).toBe(name);
  });
});
