import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { chmodSync, writeFileSync } from 'node:fs';
import { main } from '../../cli/main.ts';
import type { Store } from '../../cache/store.ts';
import { MediaType } from '../../cache/types.ts';
import { putTestImage, tempStore } from './helpers.ts';

let store: Store;
let root: string;
let cleanup: () => void;
beforeEach(async () => {
  ({ store, root, cleanup } = await tempStore());
});
afterEach(() => cleanup());

async function cli(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const input = new PassThrough();
  input.end(stdin);
  const code = await main(args, { stdout, stderr, stdin: input, env: { TSBUILD_ROOT: root }, cwd: root });
  return { code, out, err };
}

const hour = 3_600_000;
async function populate() {
  const created = new Date(Date.now() - 3 * 24 * hour).toISOString();
  const app = await putTestImage(store, 'me/app:1.0', ['x'.repeat(2_000_000), 'y'.repeat(500)], {
    created,
    history: [
      { created, created_by: 'ADD rootfs.tar / # buildkit', comment: 'buildkit.dockerfile.v0' },
      { created, created_by: 'ENV PATH=/usr/bin:/bin', empty_layer: true, comment: 'buildkit.dockerfile.v0' },
      { created, created_by: 'RUN /bin/sh -c echo a very long command line that goes past forty-five characters', comment: 'buildkit.dockerfile.v0' },
    ],
  });
  const alpine = await putTestImage(store, 'alpine', ['alpine-layer'], { created: new Date(Date.now() - 2 * hour).toISOString() });
  return { app, alpine };
}

describe('tsbuild images', () => {
  it('lists images docker-style, newest first, with short IDs and sizes', async () => {
    const { app, alpine } = await populate();
    const r = await cli(['images']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'REPOSITORY   TAG      IMAGE ID       CREATED       SIZE',
        `alpine       latest   ${alpine.configDigest.slice(7, 19)}   2 hours ago   12B`,
        `me/app       1.0      ${app.configDigest.slice(7, 19)}   3 days ago    2MB`,
        '',
      ].join('\n'),
    );
    expect((await cli(['images', '-q', 'alpine'])).out).toBe(`${alpine.configDigest.slice(7, 19)}\n`);
    expect((await cli(['images', 'nothing'])).out).toBe('REPOSITORY   TAG   IMAGE ID   CREATED   SIZE\n');
  });
});

describe('tsbuild inspect', () => {
  it('prints docker-image-inspect JSON', async () => {
    const { app } = await populate();
    const r = await cli(['inspect', 'me/app:1.0']);
    expect(r.code).toBe(0);
    const [j] = JSON.parse(r.out) as [Record<string, unknown>];
    expect(j.Id).toBe(app.configDigest);
    expect(j.RepoTags).toEqual(['me/app:1.0']);
    expect(j.Architecture).toBe('amd64');
    expect(j.Os).toBe('linux');
    expect(j.Size).toBe(2_000_500);
    expect(j.Config).toEqual({ Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] });
    expect((j.RootFS as { Layers: string[] }).Layers).toHaveLength(2);
    const missing = await cli(['inspect', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no such image: nope');
    expect(missing.out).toBe('[]\n');
  });
});

describe('tsbuild history', () => {
  it('shows entries newest first with layer sizes and truncation', async () => {
    const { app } = await populate();
    const r = await cli(['history', 'me/app:1.0']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'IMAGE          CREATED      CREATED BY                                      SIZE   COMMENT',
        `${app.configDigest.slice(7, 19)}   3 days ago   RUN /bin/sh -c echo a very long command line…   500B   buildkit.dockerfile.v0`,
        '<missing>      3 days ago   ENV PATH=/usr/bin:/bin                          0B     buildkit.dockerfile.v0',
        '<missing>      3 days ago   ADD rootfs.tar / # buildkit                     2MB    buildkit.dockerfile.v0',
        '',
      ].join('\n'),
    );
    expect((await cli(['history', '--no-trunc', 'me/app:1.0'])).out).toContain('goes past forty-five characters');
  });
});

describe('tsbuild tag and rmi', () => {
  it('tags by name or ID, untags, and deletes an image once no tag is left', async () => {
    const { alpine } = await populate();
    expect((await cli(['tag', 'alpine', 'mirror/alpine:3'])).code).toBe(0);
    expect((await store.getImage('mirror/alpine:3')).manifestDigest).toBe(alpine.manifestDigest);
    expect((await cli(['tag', alpine.configDigest.slice(7, 15), 'third'])).code).toBe(0);
    const conflict = await cli(['rmi', alpine.configDigest.slice(7, 19)]);
    expect(conflict.code).toBe(1);
    expect(conflict.err).toContain('must be forced');
    expect(await cli(['rmi', 'mirror/alpine:3', 'third'])).toEqual({ code: 0, out: 'Untagged: mirror/alpine:3\nUntagged: third:latest\n', err: '' });
    const last = await cli(['rmi', 'alpine']);
    expect(last.out).toBe(`Untagged: alpine:latest\nDeleted: ${alpine.configDigest}\n`);
    expect(await store.blobs.has(alpine.manifestDigest)).toBe(false);
    expect((await cli(['rmi', 'alpine'])).code).toBe(1);
    expect((await cli(['tag', 'nope', 'x'])).err).toContain('no such image: nope');
    expect((await cli(['tag', 'alpine'])).code).toBe(2);
  });
});

describe('tsbuild du, prune, fsck', () => {
  it('report usage, reclaim unreferenced data and the cache, and check the store', async () => {
    await populate();
    const layer = await store.blobs.putBytes('c'.repeat(5000));
    await store.cacheIndex.put('sha256:0123456789abcdef', { layers: [{ digest: layer, diffId: layer, size: 5000, mediaType: MediaType.layer }], createdAt: new Date().toISOString() });
    await store.blobs.putBytes('u'.repeat(7000));
    const du = await cli(['du']);
    expect(du.out).toMatch(/^TYPE\s+TOTAL\s+SIZE\s+RECLAIMABLE\nImages\s+2\s+2MB\s+0B\nBuild cache\s+1\s+5\.\d+kB\s+5\.\d+kB\nUnreferenced\s+1\s+7kB\s+7kB\n$/);
    expect((await cli(['du', '-v'])).out).toContain('0123456789ab');

    const dry = await cli(['prune', '--dry-run']);
    expect(dry.out).toBe('Would remove: 0 cache entries, 0 snapshots, 1 blobs, 0 leftovers, 0 stale locks\nTotal reclaimable space: 7kB\n');
    const refused = await cli(['prune'], 'n\n');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('Are you sure');
    expect(await store.blobs.has(layer)).toBe(true);

    expect((await cli(['prune', '-f'])).out).toBe('Removed: 0 cache entries, 0 snapshots, 1 blobs, 0 leftovers, 0 stale locks\nTotal reclaimed space: 7kB\n');
    expect((await cli(['prune', '--all'], 'y\n')).out).toMatch(/^Removed: 1 cache entries, 0 snapshots, 1 blobs/);
    expect(await store.blobs.has(layer)).toBe(false);
    expect((await cli(['images', '-q'])).out.trim().split('\n')).toHaveLength(2);

    const ok = await cli(['fsck']);
    expect(ok).toEqual({ code: 0, out: 'checked 7 blobs, 2 images, 0 cache entries, 0 snapshots, 0 records: no problems\n', err: '' });
    const img = await store.getImage('alpine');
    const p = store.blobs.path(img.manifest.layers[0]!.digest);
    chmodSync(p, 0o644);
    writeFileSync(p, 'tampered');
    const bad = await cli(['fsck']);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain(`error: corrupt-blob: blob ${img.manifest.layers[0]!.digest}`);
    expect(bad.out).toContain('1 problem');
    expect((await cli(['prune', '--keep-storage', 'lots', '-f'])).code).toBe(2);
  });
});
