import { linkSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync, readlinkSync, readFileSync, renameSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, writeLayer, writeTarFromDir, type Compression } from '../../../executor/layer/index.ts';
import { requireRoot, tempDir } from '../../helpers/env.ts';
import { listTar, mountOverlay, sh } from './fixtures.ts';

const CAP_NET_RAW = '0x0100000200200000000000000000000000000000';

/**
 * A lower tree and an overlay whose merged view gets: a deleted lower file (whiteout), a replaced lower dir
 * (opaque), new files with a hardlink, a symlink, xattrs (user.* and a binary security.capability), a fifo, and a
 * mountpoint stub. Returns the upperdir.
 */
async function makeUpper(root: string, mountExtra = 'redirect_dir=off,index=off,metacopy=off'): Promise<{ upper: string; lower: string }> {
  const lower = path.join(root, 'lower');
  const upper = path.join(root, 'upper');
  const work = path.join(root, 'work');
  const merged = path.join(root, 'merged');
  for (const d of [lower, upper, work, merged]) mkdirSync(d, { recursive: true });
  mkdirSync(path.join(lower, 'a'));
  writeFileSync(path.join(lower, 'a/keep'), 'keep');
  writeFileSync(path.join(lower, 'a/del'), 'del');
  mkdirSync(path.join(lower, 'dir'));
  writeFileSync(path.join(lower, 'dir/old1'), 'old1');
  writeFileSync(path.join(lower, 'dir/old2'), 'old2');
  const umount = mountOverlay({ lower: [lower], upper, work, merged, extra: mountExtra });
  try {
    rmSync(path.join(merged, 'a/del'));
    rmSync(path.join(merged, 'dir'), { recursive: true });
    mkdirSync(path.join(merged, 'dir'));
    writeFileSync(path.join(merged, 'dir/new'), 'new');
    mkdirSync(path.join(merged, 'new'));
    writeFileSync(path.join(merged, 'new/file1'), 'linked content');
    linkSync(path.join(merged, 'new/file1'), path.join(merged, 'new/file2'));
    symlinkSync('file1', path.join(merged, 'new/sym'));
    sh('setfattr', ['-n', 'user.test', '-v', 'hello', path.join(merged, 'new/file1')]);
    writeFileSync(path.join(merged, 'new/cap'), 'cap');
    sh('setfattr', ['-n', 'security.capability', '-v', CAP_NET_RAW, path.join(merged, 'new/cap')]);
    sh('mkfifo', [path.join(merged, 'new/fifo')]);
    mkdirSync(path.join(merged, 'etc'));
    writeFileSync(path.join(merged, 'etc/resolv.conf'), '');
  } finally {
    umount();
  }
  return { upper, lower };
}

beforeAll(() => requireRoot('layer writer tests (overlay mounts)', ['getfattr', 'setfattr', 'mknod', 'tar']));

describe('writeLayer from a real overlayfs upperdir', () => {
  it('lists exactly the expected entries, in order, with the right types', async () => {
    const root = await tempDir();
    const { upper } = await makeUpper(root);
    const out = path.join(root, 'layer.tar');
    const blob = await writeLayer({ upperDir: upper, out, compression: 'none', excludePaths: ['etc/resolv.conf'] });
    expect(blob.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(blob.digest).toBe(blob.diffId); // uncompressed: the blob is the tar
    expect(blob.size).toBe(statSync(out).size);
    const entries = await listTar(out);
    expect(entries.map((e) => `${e.type} ${e.name}${e.linkname !== undefined ? ` -> ${e.linkname}` : ''}`)).toEqual([
      'dir a',
      'file a/.wh.del',
      'dir dir',
      'file dir/.wh..wh..opq',
      'file dir/new',
      'dir etc',
      'dir new',
      'file new/cap',
      'fifo new/fifo',
      'file new/file1',
      'hardlink new/file2 -> new/file1',
      'symlink new/sym -> file1',
    ]);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(Buffer.from(byName.get('new/cap')!.xattrs!.get('security.capability')!).toString('hex')).toBe(CAP_NET_RAW.slice(2));
    expect(Buffer.from(byName.get('new/file1')!.xattrs!.get('user.test')!).toString()).toBe('hello');
    // overlay bookkeeping never leaks into the layer
    for (const e of entries) for (const k of e.xattrs?.keys() ?? []) expect(k.startsWith('trusted.overlay.')).toBe(false);

    // GNU tar reads the same archive the same way (names, types, link targets).
    const gnu = sh('tar', ['-tvf', out]).trim().split('\n');
    expect(gnu.map((l) => l.split(/\s+/).slice(5).join(' '))).toEqual([
      'a/',
      'a/.wh.del',
      'dir/',
      'dir/.wh..wh..opq',
      'dir/new',
      'etc/',
      'new/',
      'new/cap',
      'new/fifo',
      'new/file1',
      'new/file2 link to new/file1',
      'new/sym -> file1',
    ]);
    expect(gnu.map((l) => l[0])).toEqual(['d', '-', 'd', '-', '-', 'd', 'd', '-', 'p', '-', 'h', 'l']);
    // numeric ids only: no uname/gname fields
    expect(gnu.every((l) => l.split(/\s+/)[1] === '0/0')).toBe(true);
  });

  it('drops whiteouts of paths absent below when lowerHas says so', async () => {
    const root = await tempDir();
    const { upper } = await makeUpper(root);
    const out = path.join(root, 'layer.tar');
    await writeLayer({ upperDir: upper, out, compression: 'none', lowerHas: (p) => p !== 'a/del' });
    const names = (await listTar(out)).map((e) => e.name);
    expect(names).not.toContain('a/.wh.del');
    expect(names).toContain('etc/resolv.conf'); // not excluded this time
  });

  it('is deterministic, and sourceDateEpoch clamps every mtime', async () => {
    const root = await tempDir();
    const { upper } = await makeUpper(root);
    const epoch = 1_000_000;
    const a = await writeLayer({ upperDir: upper, out: path.join(root, 'a.tgz'), compression: 'gzip', sourceDateEpoch: epoch });
    const b = await writeLayer({ upperDir: upper, out: path.join(root, 'b.tgz'), compression: 'gzip', sourceDateEpoch: epoch });
    expect(b).toEqual(a);
    expect(readFileSync(path.join(root, 'a.tgz')).equals(readFileSync(path.join(root, 'b.tgz')))).toBe(true);
    for (const e of await listTar(path.join(root, 'a.tgz'))) expect(e.mtime).toBe(epoch);
    // An mtime older than the epoch is kept as is.
    utimesSync(path.join(upper, 'dir/new'), 500, 500);
    const c = await writeLayer({ upperDir: upper, out: path.join(root, 'c.tgz'), compression: 'gzip', sourceDateEpoch: epoch });
    expect(c.diffId).not.toBe(a.diffId);
    const byName = new Map((await listTar(path.join(root, 'c.tgz'))).map((e) => [e.name, e.mtime]));
    expect(byName.get('dir/new')).toBe(500);
    expect(byName.get('new/file1')).toBe(epoch);
    // gzip header carries no name and mtime 0
    const gz = readFileSync(path.join(root, 'a.tgz'));
    expect(gz[3]! & 0x08).toBe(0);
    expect(gz.readUInt32LE(4)).toBe(0);
  });

  it.each<Compression>(['gzip', 'zstd', 'none'])('%s round-trips through applyLayer (plain)', async (compression) => {
    const root = await tempDir();
    const { upper } = await makeUpper(root);
    const out = path.join(root, 'layer.blob');
    const blob = await writeLayer({ upperDir: upper, out, compression, excludePaths: ['etc/resolv.conf'] });
    expect(blob.mediaType).toBe(
      compression === 'none' ? 'application/vnd.oci.image.layer.v1.tar' : `application/vnd.oci.image.layer.v1.tar+${compression}`,
    );
    if (compression !== 'none') expect(blob.size).toBeLessThan(blob.uncompressedSize);
    // a plain lower with the original content, the layer applied on top
    const dest = path.join(root, 'dest');
    mkdirSync(path.join(dest, 'a'), { recursive: true });
    writeFileSync(path.join(dest, 'a/keep'), 'keep');
    writeFileSync(path.join(dest, 'a/del'), 'del');
    mkdirSync(path.join(dest, 'dir'));
    writeFileSync(path.join(dest, 'dir/old1'), 'old1');
    const res = await applyLayer({ blob: out, mediaType: blob.mediaType, dest, mode: 'plain' });
    expect(res.diffId).toBe(blob.diffId);
    expect(sh('find', [dest, '-mindepth', '1', '-printf', '%P %y\n']).trim().split('\n').sort()).toEqual(
      ['a d', 'a/keep f', 'dir d', 'dir/new f', 'etc d', 'new d', 'new/cap f', 'new/fifo p', 'new/file1 f', 'new/file2 f', 'new/sym l'].sort(),
    );
    expect(lstatSync(path.join(dest, 'new/file1')).ino).toBe(lstatSync(path.join(dest, 'new/file2')).ino);
    expect(readlinkSync(path.join(dest, 'new/sym'))).toBe('file1');
    expect(sh('getfattr', ['-n', 'security.capability', '-e', 'hex', '--only-values', path.join(dest, 'new/cap')]).length).toBeGreaterThan(0);
    expect(sh('getfattr', ['-d', '-m', '-', '-e', 'hex', path.join(dest, 'new/cap')])).toContain(`security.capability=${CAP_NET_RAW}`);
    expect(sh('getfattr', ['-n', 'user.test', '--only-values', path.join(dest, 'new/file1')])).toBe('hello');
  });

  it('rejects an upperdir with a redirected (renamed) directory', async () => {
    const root = await tempDir();
    const { upper, lower } = await makeUpper(root);
    // A second overlay with redirect_dir=on: renaming a lower directory records trusted.overlay.redirect.
    const up2 = path.join(root, 'up2');
    const wk2 = path.join(root, 'wk2');
    const mg2 = path.join(root, 'mg2');
    for (const d of [up2, wk2, mg2]) mkdirSync(d);
    const umount = mountOverlay({ lower: [lower], upper: up2, work: wk2, merged: mg2, extra: 'redirect_dir=on,index=off' });
    try {
      renameSync(path.join(mg2, 'dir'), path.join(mg2, 'moved'));
    } finally {
      umount();
    }
    await expect(writeLayer({ upperDir: up2, out: path.join(root, 'x.tar'), compression: 'none' })).rejects.toMatchObject({
      code: 'layer/redirect-dir',
    });
    // the first overlay (redirect_dir=off) is still fine
    expect(readFileSync(path.join(upper, 'dir/new'), 'utf8')).toBe('new');
  });
});

describe('writeTarFromDir', () => {
  it('archives a plain directory under a prefix, keeping char devices as devices', async () => {
    const root = await tempDir();
    const src = path.join(root, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    writeFileSync(path.join(src, 'sub/f'), 'x');
    sh('mknod', [path.join(src, 'null'), 'c', '1', '3']);
    sh('mknod', [path.join(src, 'zero0'), 'c', '0', '0']); // in a plain dir this is a device, not a whiteout
    const out = path.join(root, 'out.tar');
    await writeTarFromDir(src, out, { prefix: 'app/data' });
    const entries = await listTar(out);
    expect(entries.map((e) => `${e.type} ${e.name}`)).toEqual([
      'dir app',
      'dir app/data',
      'char app/data/null',
      'dir app/data/sub',
      'file app/data/sub/f',
      'char app/data/zero0',
    ]);
    const nul = entries.find((e) => e.name === 'app/data/null')!;
    expect([nul.devmajor, nul.devminor]).toEqual([1, 3]);
  });

  it('many small files (read ahead) come out whole, in order, at every size around the read-ahead limits', async () => {
    const root = await tempDir();
    const dir = path.join(root, 'tree');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const sizes = [0, 1, 511, 512, 513, 4096, 65535, 262143, 262144, 262145, 1 << 20];
    const want = new Map<string, Buffer>();
    for (let i = 0; i < 150; i++) {
      const size = sizes[i % sizes.length]!;
      const name = `sub/f${String(i).padStart(3, '0')}`;
      const content = Buffer.alloc(size, (i * 31) % 251);
      if (size >= 4) content.writeUInt32BE(i, 0);
      writeFileSync(path.join(dir, name), content);
      want.set(name, content);
    }
    linkSync(path.join(dir, 'sub/f001'), path.join(dir, 'sub/zz-hardlink'));
    const out = path.join(root, 'layer.tar');
    await writeTarFromDir(dir, out);
    const dest = path.join(root, 'x');
    mkdirSync(dest);
    sh('tar', ['-xf', out, '-C', dest]);
    for (const [name, content] of want) expect(readFileSync(path.join(dest, name)).equals(content), name).toBe(true);
    expect(statSync(path.join(dest, 'sub/zz-hardlink')).ino).toBe(statSync(path.join(dest, 'sub/f001')).ino);
    const names = sh('tar', ['-tf', out]).trim().split('\n');
    expect(names.filter((n) => n.startsWith('sub/f'))).toEqual([...want.keys()]);
  });

  it('streams a large file in constant memory with the right size', async () => {
    const root = await tempDir();
    const src = path.join(root, 'src');
    mkdirSync(src);
    const big = Buffer.alloc(9 * 1024 * 1024 + 7, 0x61);
    writeFileSync(path.join(src, 'big'), big);
    const out = path.join(root, 'out.tar');
    const blob = await writeTarFromDir(src, out);
    expect(blob.size).toBe(512 + Math.ceil(big.length / 512) * 512 + 1024);
    const [e] = await listTar(out);
    expect(e?.size).toBe(big.length);
  });
});
