/**
 * Failures against a real registry through a test proxy: tampered blobs, dropped connections (pull and push
 * resume), 429/503 retries, docker.io mirrors with a dead first mirror.
 */
import { readdir, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RegistryClient, type RegistryClientOptions } from '../../registry/client.ts';
import { partialPath, pullImage, type PullEvent } from '../../registry/pull.ts';
import { pushImage } from '../../registry/push.ts';
import { freePort, putRandomImage, startProxy, startRegistry, tempStore, type RunningRegistry, type TempStore, type TestProxy } from './helpers.ts';

let reg: RunningRegistry;
let proxy: TestProxy;
const stores: TempStore[] = [];
const client = (extra: Partial<RegistryClientOptions> = {}): RegistryClient =>
  new RegistryClient({ config: { mirrors: [], insecure: [], caCerts: {} }, credentials: { get: async () => undefined }, backoffMs: 5, ...extra });

beforeAll(async () => {
  reg = await startRegistry();
  proxy = await startProxy(reg.host);
});
afterAll(async () => {
  await proxy?.stop();
  await reg?.stop();
  for (const s of stores) await s.cleanup();
});

async function newStore(): Promise<TempStore> {
  const s = await tempStore();
  stores.push(s);
  return s;
}

/** Pushes a fresh random image straight to the registry; returns it and its name through the proxy. */
async function seed(repo: string, sizes: number[]) {
  const src = await newStore();
  const direct = `${reg.host}/${repo}:1`;
  const img = await putRandomImage(src.store, direct, sizes);
  const c = client();
  await pushImage(src.store, direct, { client: c });
  await c.close();
  return { img, viaProxy: `${proxy.host}/${repo}:1`, src };
}

describe('verification', () => {
  test('a tampered blob is rejected with a clear error and nothing is stored', async () => {
    const { img, viaProxy } = await seed('tamper/app', [100_000]);
    const layer = img.layers[0]!.digest;
    proxy.mode = { tamperBlob: layer };
    const dst = await newStore();
    const c = client();
    await expect(pullImage(dst.store, viaProxy, { client: c })).rejects.toMatchObject({
      code: 'registry/digest-mismatch',
      message: expect.stringMatching(new RegExp(`blob ${layer} from ${proxy.host} failed verification: its content hashes to sha256:[0-9a-f]{64}`)),
    });
    expect(await dst.store.blobs.has(layer)).toBe(false);
    expect(await dst.store.findImage(viaProxy)).toBeUndefined();
    expect(await dst.store.blobs.has(img.manifestDigest)).toBe(false);
    expect((await readdir(dst.store.paths.ingest)).filter((n) => n.includes(layer.slice(7)))).toEqual([]);
    proxy.mode = {};
    // The same pull without tampering succeeds.
    expect((await pullImage(dst.store, viaProxy, { client: c })).manifestDigest).toBe(img.manifestDigest);
    await c.close();
  });
});

describe('resumable pull', () => {
  test('a dropped connection mid-blob resumes with a Range request in the same pull', async () => {
    const { img, viaProxy } = await seed('resume/pull-a', [2_000_000]);
    proxy.requests.length = 0;
    proxy.mode = { cutBlobAfter: 700_000, cutTimes: 1 };
    const dst = await newStore();
    const c = client();
    const events: PullEvent[] = [];
    const r = await pullImage(dst.store, viaProxy, { client: c, onProgress: (e) => events.push(e) });
    expect(r.manifestDigest).toBe(img.manifestDigest);
    const layer = img.layers[0]!.digest;
    const ranged = proxy.requests.filter((q) => q.url.endsWith(layer) && q.range !== undefined);
    expect(ranged.length).toBe(1);
    const from = Number(/^bytes=(\d+)-$/.exec(ranged[0]!.range!)![1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(700_000);
    expect(events.some((e) => e.type === 'blob' && e.status === 'resuming')).toBe(true);
    proxy.mode = {};
    await c.close();
  });

  test('an interrupted pull leaves a partial download that the next pull resumes', async () => {
    const { img, viaProxy } = await seed('resume/pull-b', [1_500_000]);
    const layer = img.layers[0]!.digest;
    proxy.mode = { cutBlobAfter: 500_000 };
    const dst = await newStore();
    const c1 = client();
    await expect(pullImage(dst.store, viaProxy, { client: c1, resumeAttempts: 0 })).rejects.toMatchObject({ code: 'registry/download-interrupted' });
    await c1.close();
    const partial = (await stat(partialPath(dst.store, layer))).size;
    expect(partial).toBeGreaterThan(0);
    expect(await dst.store.findImage(viaProxy)).toBeUndefined();

    proxy.mode = {};
    proxy.requests.length = 0;
    const c2 = client();
    const r = await pullImage(dst.store, viaProxy, { client: c2 });
    await c2.close();
    expect(r.manifestDigest).toBe(img.manifestDigest);
    const layerGets = proxy.requests.filter((q) => q.method === 'GET' && q.url.endsWith(layer));
    expect(layerGets.map((q) => q.range)).toEqual([`bytes=${partial}-`]);
    await expect(stat(partialPath(dst.store, layer))).rejects.toThrow();
    expect(await dst.store.blobs.has(layer)).toBe(true);
  });
});

describe('resumable push', () => {
  // The connection drops as a PATCH starts (before its body), as when a push is killed between chunks.
  test('an interrupted chunked upload resumes from the registry offset on the next push', async () => {
    const src = await newStore();
    const name = `${proxy.host}/resume/push:1`;
    const img = await putRandomImage(src.store, name, [1_200_000]);
    proxy.mode = { cutPatchAfter: 0, cutPatchSkip: 2 };
    const c1 = client();
    await expect(pushImage(src.store, name, { client: c1, chunkSize: 256 * 1024, resumeAttempts: 0 })).rejects.toMatchObject({ code: 'registry/upload-interrupted' });
    await c1.close();
    expect((await readdir(src.store.paths.ingest)).some((n) => n.startsWith('push-'))).toBe(true);

    proxy.mode = {};
    proxy.requests.length = 0;
    const c2 = client();
    const res = await pushImage(src.store, name, { client: c2, chunkSize: 256 * 1024 });
    await c2.close();
    const layer = res.blobs.find((b) => b.digest === img.layers[0]!.digest)!;
    expect(layer.outcome).toBe('resumed');
    const firstPatch = proxy.requests.find((q) => q.method === 'PATCH');
    expect(Number(firstPatch!.contentRange!.split('-')[0])).toBeGreaterThan(0);
    expect((await readdir(src.store.paths.ingest)).some((n) => n.startsWith('push-'))).toBe(false);

    const dst = await newStore();
    const c3 = client();
    expect((await pullImage(dst.store, `${reg.host}/resume/push:1`, { client: c3 })).manifestDigest).toBe(img.manifestDigest);
    await c3.close();
  });

  test('a PATCH dropped before its body is resumed in place within one push', async () => {
    const src = await newStore();
    const name = `${proxy.host}/resume/push-inplace:1`;
    const img = await putRandomImage(src.store, name, [900_000]);
    proxy.mode = { cutPatchAfter: 0, cutPatchSkip: 1, cutTimes: 1 };
    proxy.requests.length = 0;
    const c = client();
    const res = await pushImage(src.store, name, { client: c, chunkSize: 200 * 1024 });
    await c.close();
    proxy.mode = {};
    expect(res.blobs.find((b) => b.digest === img.layers[0]!.digest)!.outcome).toBe('resumed');
    // The second chunk was sent twice (cut, then resumed at the registry's offset), nothing else repeated.
    const ranges = proxy.requests.filter((q) => q.method === 'PATCH').map((q) => q.contentRange);
    expect(ranges.filter((r) => r === '204800-409599').length).toBe(2);
    expect(ranges.filter((r) => r?.startsWith('0-')).length).toBe(1);
    const dst = await newStore();
    const c2 = client();
    expect((await pullImage(dst.store, `${reg.host}/resume/push-inplace:1`, { client: c2 })).manifestDigest).toBe(img.manifestDigest);
    await c2.close();
  });

  // Whether the registry keeps the torn bytes depends on its buffering: if it does, the old session is unusable
  // (its URL is bound to the old offset) and the push starts a new one; if not, it resumes. Either way it succeeds.
  test('a PATCH torn mid-body still ends in a correct upload', async () => {
    const src = await newStore();
    const name = `${proxy.host}/resume/push-torn:1`;
    const img = await putRandomImage(src.store, name, [700_000]);
    proxy.mode = { cutPatchAfter: 50_000, cutPatchSkip: 1, cutTimes: 1 };
    const c = client();
    const res = await pushImage(src.store, name, { client: c, chunkSize: 200 * 1024 });
    await c.close();
    proxy.mode = {};
    expect(['uploaded', 'resumed']).toContain(res.blobs.find((b) => b.digest === img.layers[0]!.digest)!.outcome);
    const dst = await newStore();
    const c2 = client();
    expect((await pullImage(dst.store, `${reg.host}/resume/push-torn:1`, { client: c2 })).manifestDigest).toBe(img.manifestDigest);
    await c2.close();
  });
});

describe('retries', () => {
  test('429 and 503 answers are retried with backoff', async () => {
    const { img, viaProxy } = await seed('retry/app', [5000]);
    const retries: string[] = [];
    proxy.mode = { failStatus: 429, failCount: 2 };
    const dst = await newStore();
    const c = client({ onRetry: (i) => retries.push(i.reason) });
    expect((await pullImage(dst.store, viaProxy, { client: c })).manifestDigest).toBe(img.manifestDigest);
    expect(retries).toEqual(['HTTP 429', 'HTTP 429']);
    proxy.mode = { failStatus: 503, failCount: 10 };
    const dst2 = await newStore();
    await expect(pullImage(dst2.store, viaProxy, { client: client({ retries: 2 }) })).rejects.toMatchObject({ code: 'registry/http-error', message: expect.stringContaining('503') });
    proxy.mode = {};
    await c.close();
  });
});

describe('mirrors', () => {
  test('docker.io pulls go to the mirrors first, skipping a dead one', async () => {
    // The mirror holds library/mirrored as Docker Hub would.
    const src = await newStore();
    const img = await putRandomImage(src.store, `${reg.host}/library/mirrored:3`, [4000]);
    const c0 = client();
    await pushImage(src.store, `${reg.host}/library/mirrored:3`, { client: c0 });
    await c0.close();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = client({ config: { mirrors: [dead, `http://${proxy.host}`], insecure: [], caCerts: {} }, retries: 1 });
    const events: PullEvent[] = [];
    proxy.requests.length = 0;
    const dst = await newStore();
    const r = await pullImage(dst.store, 'mirrored:3', { client: c, onProgress: (e) => events.push(e) });
    await c.close();
    expect(r.name).toBe('docker.io/library/mirrored:3');
    expect(r.manifestDigest).toBe(img.manifestDigest);
    expect(r.endpoint).toBe(`http://${proxy.host}`);
    expect(events.filter((e) => e.type === 'mirror-failed').map((e) => (e as { endpoint: string }).endpoint)).toEqual([dead]);
    expect(proxy.requests.some((q) => q.url === '/v2/library/mirrored/manifests/3')).toBe(true);
    expect((await dst.store.getImage('mirrored:3')).manifestDigest).toBe(img.manifestDigest);
  });
});
