/**
 * Push and pull against a real distribution registry (Debian's docker-registry) over plain HTTP on 127.0.0.1.
 */
import { readdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RegistryClient } from '../../registry/client.ts';
import { pullImage } from '../../registry/pull.ts';
import { pushImage } from '../../registry/push.ts';
import { putRandomImage, startRegistry, tempStore, type RunningRegistry, type TempStore } from './helpers.ts';

let reg: RunningRegistry;
const stores: TempStore[] = [];
const client = (): RegistryClient => new RegistryClient({ config: { mirrors: [], insecure: [], caCerts: {} }, credentials: { get: async () => undefined } });

beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
  for (const s of stores) await s.cleanup();
});

async function newStore(): Promise<TempStore> {
  const s = await tempStore();
  stores.push(s);
  return s;
}

describe('push then pull through a plain registry', () => {
  test('digests survive the round trip; a second pull fetches nothing', async () => {
    const src = await newStore();
    const name = `${reg.host}/tsbuild/roundtrip:v1`;
    const img = await putRandomImage(src.store, name, [3000, 200_000, 50]);
    const c = client();
    const pushed = await pushImage(src.store, name, { client: c });
    expect(pushed.manifestDigest).toBe(img.manifestDigest);
    expect(pushed.blobs.map((b) => b.outcome).sort()).toEqual(['uploaded', 'uploaded', 'uploaded', 'uploaded']);

    const dst = await newStore();
    const pulled = await pullImage(dst.store, name, { client: c });
    expect(pulled.manifestDigest).toBe(img.manifestDigest);
    expect(pulled.configDigest).toBe(img.configDigest);
    expect(pulled.blobsFetched).toBe(4);
    const got = await dst.store.getImage(name);
    expect(got.manifestDigest).toBe(img.manifestDigest);
    for (const l of img.layers) expect(await dst.store.blobs.has(l.digest)).toBe(true);

    const again = await pullImage(dst.store, name, { client: c });
    expect(again.blobsFetched).toBe(0);
    expect(again.upToDate).toBe(true);
    // No partial downloads left behind.
    expect((await readdir(dst.store.paths.ingest)).filter((n) => n.startsWith('pull-'))).toEqual([]);

    // Pushing again: every blob already there (HEAD).
    const repush = await pushImage(src.store, name, { client: c });
    expect(repush.blobs.every((b) => b.outcome === 'exists')).toBe(true);
    await c.close();
  });

  test('a second repository on the same registry gets the blobs by cross-repository mount', async () => {
    const src = await newStore();
    const a = `${reg.host}/team/app-a:1`;
    const img = await putRandomImage(src.store, a, [10_000, 20_000]);
    const c = client();
    await pushImage(src.store, a, { client: c });
    const b = `${reg.host}/team/app-b:1`;
    await src.store.tagImage(b, img.manifestDigest);
    const res = await pushImage(src.store, b, { client: c });
    expect(res.blobs.map((x) => x.outcome)).toEqual(['mounted', 'mounted', 'mounted']);
    const dst = await newStore();
    expect((await pullImage(dst.store, b, { client: c })).manifestDigest).toBe(img.manifestDigest);
    await c.close();
  });

  test('chunked uploads (PATCH with Content-Range) produce the same image', async () => {
    const src = await newStore();
    const name = `${reg.host}/tsbuild/chunked:latest`;
    const img = await putRandomImage(src.store, name, [300_000]);
    const c = client();
    const res = await pushImage(src.store, name, { client: c, chunkSize: 64 * 1024 });
    expect(res.blobs.filter((b) => b.outcome === 'uploaded').length).toBe(2);
    const dst = await newStore();
    const pulled = await pullImage(dst.store, name, { client: c });
    expect(pulled.manifestDigest).toBe(img.manifestDigest);
    await c.close();
  });

  test('a missing repository is a clear pull-access-denied error', async () => {
    const dst = await newStore();
    const c = client();
    await expect(pullImage(dst.store, `${reg.host}/nope/missing:1`, { client: c })).rejects.toMatchObject({
      code: 'registry/pull-access-denied',
      message: expect.stringContaining(`pull access denied for ${reg.host}/nope/missing: repository does not exist or may require 'tsbuild login'`),
    });
    expect(await dst.store.findImage(`${reg.host}/nope/missing:1`)).toBeUndefined();
    await c.close();
  });
});
