import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, writeTarFromDir } from '../../../executor/layer/index.ts';
import { encodeHeader, tarPadding, tarTrailer, type TarHeader } from '../../../executor/layer/tar-format.ts';
import { requireRoot, tempDir } from '../../helpers/env.ts';
import { mountOverlay, sh } from './fixtures.ts';

type Spec = Partial<TarHeader> & { name: string; body?: string };

/** Crafts a tar from raw entries; names are written verbatim (no cleaning), as an attacker would. */
function craft(entries: readonly Spec[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'file';
    parts.push(
      encodeHeader({ mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1000, ...e, type, size: type === 'file' ? body.length : 0 }),
    );
    if (type === 'file') parts.push(body, tarPadding(body.length));
  }
  parts.push(tarTrailer());
  return Buffer.concat(parts);
}

/** Every path under `dir` (relative), so tests can assert nothing appeared outside the destination. */
function tree(dir: string): string[] {
  return sh('find', [dir, '-mindepth', '1', '-printf', '%P %y\n']).trim().split('\n').filter(Boolean).sort();
}

async function applyBuf(buf: Buffer, dest: string, mode: 'overlay' | 'plain' = 'plain') {
  return applyLayer({ blob: Readable.from([buf]), mediaType: 'application/vnd.oci.image.layer.v1.tar', dest, mode });
}

beforeAll(() => requireRoot('layer apply tests (mknod, xattrs, overlay mounts)', ['getfattr', 'setfattr', 'mknod']));

describe('applyLayer security (CVE-2014-6407/9356, CVE-2018-15664)', () => {
  /** A sandbox: `outside/` holds a sentinel, `dest/` is where the layer goes. */
  async function sandbox() {
    const root = await tempDir();
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'passwd'), 'host secret');
    const dest = path.join(root, 'dest');
    mkdirSync(dest);
    return { root, outside, dest };
  }
  const outsideUntouched = (root: string) => {
    expect(tree(root).filter((p) => !p.startsWith('dest'))).toEqual(['outside d', 'outside/passwd f']);
    expect(readFileSync(path.join(root, 'outside/passwd'), 'utf8')).toBe('host secret');
  };

  it('rejects ../ entries', async () => {
    const { root, dest } = await sandbox();
    await expect(applyBuf(craft([{ name: '../evil', body: 'x' }]), dest)).rejects.toMatchObject({ code: 'layer/path-escape' });
    await expect(applyBuf(craft([{ name: 'a/../../outside/passwd', body: 'x' }]), dest)).rejects.toMatchObject({
      code: 'layer/path-escape',
    });
    outsideUntouched(root);
  });

  it('takes absolute names relative to the root', async () => {
    const { root, dest } = await sandbox();
    await applyBuf(craft([{ name: `${root}/outside/passwd`, body: 'pwned' }, { name: '/abs', body: 'a' }]), dest);
    outsideUntouched(root);
    expect(readFileSync(path.join(dest, 'abs'), 'utf8')).toBe('a');
    expect(readFileSync(path.join(dest, root.slice(1), 'outside/passwd'), 'utf8')).toBe('pwned');
  });

  it('scopes a symlink to an absolute dir (link -> /outside, then link/passwd) inside the root', async () => {
    const { root, dest } = await sandbox();
    const outside = path.join(root, 'outside');
    await applyBuf(
      craft([
        { name: 'link', type: 'symlink', linkname: outside },
        { name: 'link/passwd', body: 'pwned' },
      ]),
      dest,
    );
    outsideUntouched(root);
    expect(readFileSync(path.join(dest, outside.slice(1), 'passwd'), 'utf8')).toBe('pwned');
    expect(lstatSync(path.join(dest, 'link')).isSymbolicLink()).toBe(true);
  });

  it('scopes relative ../ symlinks, and never writes through a symlink as the final component', async () => {
    const { root, dest } = await sandbox();
    await applyBuf(
      craft([
        { name: 'up', type: 'symlink', linkname: '../../../../../../../../outside' },
        { name: 'up/passwd', body: 'pwned' },
        // a symlink then a file with the same name: the link is replaced, its target untouched
        { name: 'pw', type: 'symlink', linkname: path.join(root, 'outside/passwd') },
        { name: 'pw', body: 'replaced' },
      ]),
      dest,
    );
    outsideUntouched(root);
    expect(readFileSync(path.join(dest, 'outside/passwd'), 'utf8')).toBe('pwned');
    expect(lstatSync(path.join(dest, 'pw')).isFile()).toBe(true);
    expect(readFileSync(path.join(dest, 'pw'), 'utf8')).toBe('replaced');
  });

  it('refuses hardlinks to files outside the root', async () => {
    const { root, dest } = await sandbox();
    const target = path.join(root, 'outside/passwd');
    // an absolute target is taken inside the root, where it does not exist
    await expect(applyBuf(craft([{ name: 'h', type: 'hardlink', linkname: target }]), dest)).rejects.toMatchObject({
      code: 'layer/bad-hardlink',
    });
    await expect(applyBuf(craft([{ name: 'h', type: 'hardlink', linkname: '../outside/passwd' }]), dest)).rejects.toMatchObject({
      code: 'layer/path-escape',
    });
    // through a symlinked parent pointing outside: resolved inside the root, still absent
    await expect(
      applyBuf(
        craft([
          { name: 'l', type: 'symlink', linkname: path.join(root, 'outside') },
          { name: 'h', type: 'hardlink', linkname: 'l/passwd' },
        ]),
        dest,
      ),
    ).rejects.toMatchObject({ code: 'layer/bad-hardlink' });
    outsideUntouched(root);
    expect(lstatSync(target).nlink).toBe(1);
  });

  it('a failed overlay-mode apply leaves no half-written snapshot', async () => {
    const { root } = await sandbox();
    const dest = path.join(root, 'snap');
    await expect(applyBuf(craft([{ name: 'ok', body: 'x' }, { name: '../evil', body: 'x' }]), dest, 'overlay')).rejects.toMatchObject({
      code: 'layer/path-escape',
    });
    expect(existsSync(dest)).toBe(false);
  });

  it('rejects corrupt archives and unknown media types with stable codes', async () => {
    const { dest } = await sandbox();
    const buf = craft([{ name: 'f', body: 'x' }]);
    buf[0] = 0x7a; // checksum no longer matches
    await expect(applyBuf(buf, dest)).rejects.toMatchObject({ code: 'layer/bad-tar' });
    await expect(
      applyLayer({ blob: Readable.from([craft([])]), mediaType: 'application/json', dest, mode: 'plain' }),
    ).rejects.toMatchObject({ code: 'layer/unknown-media-type' });
    await expect(
      applyLayer({ blob: Readable.from([Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3])]), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', dest, mode: 'plain' }),
    ).rejects.toMatchObject({ code: 'layer/bad-compression' });
  });
});

describe('applyLayer overlay mode', () => {
  it('produces lowerdirs whose stacked overlay shows the merged view', async () => {
    const root = await tempDir();
    // layer 1: a plain tree written by our writer
    const src = path.join(root, 'src');
    mkdirSync(path.join(src, 'a'), { recursive: true });
    mkdirSync(path.join(src, 'd'));
    writeFileSync(path.join(src, 'a/keep'), 'keep');
    writeFileSync(path.join(src, 'a/del'), 'del');
    writeFileSync(path.join(src, 'd/old'), 'old');
    const l1 = await writeTarFromDir(src, path.join(root, 'l1.tgz'), { compression: 'gzip' });
    // layer 2: deletes a/del, makes d opaque with one new file, adds a hardlink and an xattr
    const l2 = zlib.zstdCompressSync(
      craft([
        { name: 'a', type: 'dir' },
        { name: 'a/.wh.del' },
        { name: 'd', type: 'dir' },
        { name: 'd/.wh..wh..opq' },
        { name: 'd/new', body: 'new', xattrs: new Map([['user.k', Buffer.from([0, 0xff, 1])]]) },
        { name: 'd/new2', type: 'hardlink', linkname: 'd/new' },
      ]),
    );
    const s1 = path.join(root, 's1');
    const s2 = path.join(root, 's2');
    await applyLayer({ blob: path.join(root, 'l1.tgz'), mediaType: l1.mediaType, dest: s1, mode: 'overlay' });
    // mislabelled as uncompressed: the zstd magic still decides
    await applyLayer({ blob: Readable.from([l2]), mediaType: 'application/vnd.oci.image.layer.v1.tar', dest: s2, mode: 'overlay' });
    const wh = lstatSync(path.join(s2, 'a/del'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(sh('getfattr', ['-n', 'trusted.overlay.opaque', '--only-values', path.join(s2, 'd')])).toBe('y');
    expect(sh('getfattr', ['-n', 'user.k', '-e', 'hex', path.join(s2, 'd/new')])).toContain('user.k=0x00ff01');

    const merged = path.join(root, 'merged');
    mkdirSync(merged);
    const umount = mountOverlay({ lower: [s2, s1], merged });
    try {
      expect(tree(merged)).toEqual(['a d', 'a/keep f', 'd d', 'd/new f', 'd/new2 f']);
      expect(readFileSync(path.join(merged, 'd/new2'), 'utf8')).toBe('new');
    } finally {
      umount();
    }

    // plain mode, stacked into one directory, gives the same view
    const flat = path.join(root, 'flat');
    await applyLayer({ blob: path.join(root, 'l1.tgz'), mediaType: l1.mediaType, dest: flat, mode: 'plain' });
    await applyLayer({ blob: Readable.from([l2]), mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', dest: flat, mode: 'plain' });
    expect(tree(flat)).toEqual(['a d', 'a/keep f', 'd d', 'd/new f', 'd/new2 f']);
    expect(lstatSync(path.join(flat, 'd/new')).ino).toBe(lstatSync(path.join(flat, 'd/new2')).ino);
    expect(readdirSync(flat)).toEqual(['a', 'd']);
  });

  it('applies ownership, modes (setuid), mtimes and directory mtimes', async () => {
    const root = await tempDir();
    const dest = path.join(root, 's');
    await applyBuf(
      craft([
        { name: 'bin', type: 'dir', mode: 0o750, uid: 5, gid: 6, mtime: 12345 },
        { name: 'bin/su', body: 'x', mode: 0o4755, uid: 0, gid: 0, mtime: 777 },
        { name: 'bin/l', type: 'symlink', linkname: 'su', uid: 7, gid: 8, mtime: 999 },
        { name: 'home/app/f', body: 'y', uid: 1_000_000, gid: 3_000_000, mtime: 1 },
        { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
        { name: 'p', type: 'fifo', mode: 0o600 },
      ]),
      dest,
      'overlay',
    );
    const bin = lstatSync(path.join(dest, 'bin'));
    expect([bin.mode & 0o7777, bin.uid, bin.gid, Math.floor(bin.mtimeMs / 1000)]).toEqual([0o750, 5, 6, 12345]);
    const su = lstatSync(path.join(dest, 'bin/su'));
    expect([su.mode & 0o7777, Math.floor(su.mtimeMs / 1000)]).toEqual([0o4755, 777]);
    const l = lstatSync(path.join(dest, 'bin/l'));
    expect([l.uid, l.gid, Math.floor(l.mtimeMs / 1000)]).toEqual([7, 8, 999]);
    const f = lstatSync(path.join(dest, 'home/app/f'));
    expect([f.uid, f.gid]).toEqual([1_000_000, 3_000_000]); // ids beyond ustar's 7 octal digits go through PAX
    const n = lstatSync(path.join(dest, 'dev/null'));
    expect(n.isCharacterDevice() && n.rdev === 0x103).toBe(true);
    expect(lstatSync(path.join(dest, 'p')).isFIFO()).toBe(true);
  });
});
