import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffImages, openImage, renderImageDiff, semanticCompare, type FixtureImageLike } from './image-diff-helpers.ts';
import { tempDir } from '../helpers/env.ts';
import { dockerArchive, ociArchive, writeLayout, type FixtureEntry } from './fixtures.ts';

const noStore = { store: async () => { throw new Error('no store in this test'); }, cwd: '/' };

const base: FixtureEntry[] = [
  { name: 'bin', type: 'dir' },
  { name: 'bin/busybox', content: 'BUSYBOX', mode: 0o755 },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox' },
  { name: 'etc', type: 'dir' },
  { name: 'etc/passwd', content: 'root:x:0:0' },
];

const imageA: FixtureImageLike = {
  layers: [base, [{ name: 'app', type: 'dir' }, { name: 'app/x', content: '1' }, { name: 'app/old', content: 'gone soon' }]],
  env: ['PATH=/bin', 'MODE=a'],
  cmd: ['sh'],
};
const imageB: FixtureImageLike = {
  layers: [
    base,
    [
      { name: 'app', type: 'dir' },
      { name: 'app/x', content: '2' },
      { name: 'app/y', content: 'new file' },
      { name: 'etc/passwd', content: 'root:x:0:0', mode: 0o600 },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'bin/.wh.busybox' },
      { name: 'app/owned', content: 'o', uid: 1000, gid: 1000 },
    ],
  ],
  env: ['PATH=/bin', 'MODE=b', 'NEW=1'],
  cmd: ['sh', '-c', 'true'],
  labels: { version: '2' },
};

async function layout(img: FixtureImageLike): Promise<string> {
  return writeLayout(await tempDir(), img);
}

describe('tsbuild diff (images)', () => {
  it('reports config changes, the layer table and exactly the changed files', async () => {
    const a = await openImage(`oci:${await layout(imageA)}`, noStore);
    const b = await openImage(`oci:${await layout(imageB)}`, noStore);
    const d = await diffImages(a, b);
    expect(d.config).toEqual([
      { field: 'Cmd', old: ['sh'], new: ['sh', '-c', 'true'] },
      { field: 'Env.MODE', old: 'a', new: 'b' },
      { field: 'Env.NEW', new: '1' },
      { field: 'Labels.version', new: '2' },
    ]);
    expect(d.layers.map((r) => r.status)).toEqual(['shared', 'changed']);
    expect(d.files.map((f) => [f.change, f.path, f.fields ?? []])).toEqual([
      ['removed', 'app/old', []],
      ['added', 'app/owned', []],
      ['modified', 'app/x', ['content']],
      ['added', 'app/y', []],
      ['removed', 'bin/busybox', []],
      ['modified', 'bin/sh', ['link']],
      ['modified', 'etc/passwd', ['mode']],
    ]);
    expect(d.files.find((f) => f.path === 'app/owned')!.new).toMatchObject({ uid: 1000, gid: 1000, size: 1, layer: 1 });
    expect(d.identical).toBe(false);
    const text = renderImageDiff(d);
    expect(text).toContain('~ Env.MODE: "a" -> "b"');
    expect(text).toContain('M etc/passwd  [mode]  file 0644 0:0');
    expect(text).toContain('=> file 0600 0:0');
  });

  it('ignores timestamps unless --timestamps', async () => {
    const later = { ...imageA, layers: imageA.layers.map((l) => l.map((e) => ({ ...e, mtime: 1_800_000_000 }))) };
    const a = await openImage(`oci:${await layout(imageA)}`, noStore);
    const b = await openImage(`oci:${await layout(later)}`, noStore);
    const plain = await diffImages(a, b);
    expect(plain.files).toEqual([]);
    expect(plain.identical).toBe(true);
    expect(plain.layers.map((r) => r.status)).toEqual(['changed', 'changed']);
    const withTimes = await diffImages(a, b, { timestamps: true });
    expect(withTimes.files.length).toBe(8);
    expect(new Set(withTimes.files.map((f) => (f.fields ?? []).join()))).toEqual(new Set(['mtime']));
  });

  it('--layer N compares one layer of each image as file sets', async () => {
    const a = await openImage(`oci:${await layout(imageA)}`, noStore);
    const b = await openImage(`oci:${await layout(imageB)}`, noStore);
    const l0 = await diffImages(a, b, { layer: 0 });
    expect(l0.files).toEqual([]);
    const l1 = await diffImages(a, b, { layer: 1 });
    // Layer 1 of A has no etc/ or bin/ entries: in B's layer 1 they are new (implicit parents included).
    expect(l1.files.filter((f) => f.change === 'added').map((f) => f.path)).toEqual(['app/owned', 'app/y', 'bin', 'bin/sh', 'etc', 'etc/passwd']);
    await expect(diffImages(a, b, { layer: 2 })).rejects.toThrow(/has 2 layers/);
  });

  it('reads OCI archives and docker archives the same as the layout they came from', async () => {
    const dir = await layout(imageB);
    const scratch = await tempDir();
    const oci = ociArchive(dir, path.join(scratch, 'b-oci.tar'));
    const docker = await dockerArchive(dir, path.join(scratch, 'b-docker.tar'));
    const fromLayout = await openImage(`oci:${dir}`, noStore);
    const fromOci = await openImage(oci, noStore);
    const fromDocker = await openImage(`docker-archive:${docker}`, noStore);
    expect(fromOci.origin).toBe('oci-archive');
    expect(fromDocker.origin).toBe('docker-archive');
    expect(fromDocker.configDigest).toBe(fromLayout.configDigest);
    for (const other of [fromOci, fromDocker]) {
      const d = await diffImages(fromLayout, other, { timestamps: true });
      expect(d.identical).toBe(true);
      expect(d.files).toEqual([]);
    }
    await expect(openImage('docker://alpine', noStore)).rejects.toMatchObject({ code: 'diff/registry-unsupported' });
  });
});

describe('tsbuild diff --semantic', () => {
  it('equal when only timestamps, entry order and compression differ', async () => {
    const shuffled: FixtureImageLike = {
      ...imageA,
      gzip: false,
      created: '2030-01-01T00:00:00Z',
      history: ['other', 'history'],
      layers: imageA.layers.map((l) => [...l].reverse().map((e) => ({ ...e, mtime: 42 }))),
    };
    const a = await openImage(`oci:${await layout(imageA)}`, noStore);
    const b = await openImage(`oci:${await layout(shuffled)}`, noStore);
    expect(a.configDigest).not.toBe(b.configDigest);
    const r = await semanticCompare(a, b);
    expect(r.differences).toEqual([]);
    expect(r.equal).toBe(true);
  });

  it('differs on content, mode, owner and config, naming each', async () => {
    const changed: FixtureImageLike = {
      ...imageA,
      env: ['PATH=/bin', 'MODE=z'],
      layers: [
        imageA.layers[0]!.map((e) => (e.name === 'etc/passwd' ? { ...e, uid: 7 } : e)),
        imageA.layers[1]!.map((e) => (e.name === 'app/x' ? { ...e, content: '9' } : e.name === 'app/old' ? { ...e, mode: 0o600 } : e)),
      ],
    };
    const a = await openImage(`oci:${await layout(imageA)}`, noStore);
    const b = await openImage(`oci:${await layout(changed)}`, noStore);
    const r = await semanticCompare(a, b);
    expect(r.equal).toBe(false);
    expect(r.differences.map((d) => [d.kind, d.layer, d.path, d.what])).toEqual([
      ['config', undefined, undefined, 'Env.MODE'],
      ['file', 0, 'etc/passwd', 'uid'],
      ['file', 1, 'app/old', 'mode'],
      ['file', 1, 'app/x', 'digest'],
    ]);
  });
});
