import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { detectArchive, detectCompression, isTarHeader } from '../../../executor/fileops/archive.ts';
import { copy } from '../../../executor/fileops/copy.ts';
import { assertContained, OUTSIDE_SECRET, req, roots, tree, type Roots } from './helpers.ts';

type Entry = Partial<Header> & { name: string; body?: string };

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const { body, ...header } = e;
    await new Promise<void>((resolve, reject) => {
      p.entry(header, body ?? '', (err) => (err ? reject(err) : resolve()));
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function compress(data: Buffer, tool: 'gzip' | 'bzip2' | 'xz' | 'zstd'): Buffer {
  if (tool === 'gzip') return gzipSync(data);
  return execFileSync(tool, tool === 'zstd' ? ['-q', '-c'] : ['-c'], { input: data });
}

const MTIME = new Date('2020-01-02T03:04:05Z');

const sample: Entry[] = [
  { name: 'top/', type: 'directory', mode: 0o750, uid: 7, gid: 8, mtime: MTIME },
  { name: 'top/file.txt', body: 'hello', mode: 0o604, uid: 11, gid: 12, mtime: MTIME },
  { name: 'top/link', type: 'symlink', linkname: 'file.txt', mtime: MTIME },
  { name: 'top/hard', type: 'link', linkname: 'top/file.txt' },
  { name: 'implicit/parent/leaf', body: 'leaf', mode: 0o644 },
];

async function addArchive(r: Roots, name: string, data: Buffer, dest = '/x/'): Promise<void> {
  await writeFile(path.join(r.src, name), data);
  await copy(req(r, [name], dest, { add: true }));
}

describe('ADD: local archives', () => {
  it.each(['none', 'gzip', 'bzip2', 'xz', 'zstd'] as const)('extracts a %s tar by content, with header metadata', async (kind) => {
    const r = await roots();
    const tar = await makeTar(sample);
    const data = kind === 'none' ? tar : compress(tar, kind);
    // The name says nothing: detection is by content.
    await addArchive(r, 'payload.bin', data, '/x');
    expect(await tree(path.join(r.dest, 'x'))).toEqual({
      'implicit/': 'dir',
      'implicit/parent/': 'dir',
      'implicit/parent/leaf': 'leaf',
      'top/': 'dir',
      'top/file.txt': 'hello',
      'top/hard': 'hello',
      'top/link': '-> file.txt',
    });
    const f = await stat(path.join(r.dest, 'x/top/file.txt'));
    expect([f.mode & 0o7777, f.uid, f.gid, f.mtime.getTime()]).toEqual([0o604, 11, 12, MTIME.getTime()]);
    expect((await stat(path.join(r.dest, 'x/top/hard'))).ino).toBe(f.ino);
    const d = await stat(path.join(r.dest, 'x/top'));
    expect([d.mode & 0o7777, d.uid, d.gid, d.mtime.getTime()]).toEqual([0o750, 7, 8, MTIME.getTime()]);
    expect((await lstat(path.join(r.dest, 'x/top/link'))).mtime.getTime()).toBe(MTIME.getTime());
  });

  it('merges into existing directories and replaces existing files', async () => {
    const r = await roots();
    await mkdir(path.join(r.dest, 'x/top'), { recursive: true });
    await writeFile(path.join(r.dest, 'x/top/keep'), 'kept');
    await writeFile(path.join(r.dest, 'x/top/file.txt'), 'old');
    await addArchive(r, 'a.tar', await makeTar(sample));
    const t = await tree(path.join(r.dest, 'x'));
    expect(t['top/keep']).toBe('kept');
    expect(t['top/file.txt']).toBe('hello');
  });

  it('copies non-archives as they are: plain files, compressed non-tar data, and archives under COPY', async () => {
    const r = await roots();
    const gzText = gzipSync(Buffer.from('just text, not a tar'));
    await writeFile(path.join(r.src, 'notes.tar.gz'), 'not really an archive');
    await writeFile(path.join(r.src, 'text.gz'), gzText);
    await writeFile(path.join(r.src, 'real.tar'), await makeTar(sample));
    await copy(req(r, ['notes.tar.gz', 'text.gz'], '/x/', { add: true }));
    await copy(req(r, ['real.tar'], '/y/', { add: false }));
    expect(await readFile(path.join(r.dest, 'x/notes.tar.gz'), 'utf8')).toBe('not really an archive');
    expect(Buffer.compare(await readFile(path.join(r.dest, 'x/text.gz')), gzText)).toBe(0);
    expect((await stat(path.join(r.dest, 'y/real.tar'))).isFile()).toBe(true);
  });

  it('detects compression by magic bytes and tar headers by checksum', async () => {
    const tar = await makeTar(sample);
    expect(detectCompression(gzipSync(tar))).toBe('gzip');
    expect(detectCompression(compress(tar, 'xz'))).toBe('xz');
    expect(detectCompression(compress(tar, 'bzip2'))).toBe('bzip2');
    expect(detectCompression(compress(tar, 'zstd'))).toBe('zstd');
    expect(detectCompression(tar)).toBe('none');
    expect(isTarHeader(tar.subarray(0, 512))).toBe(true);
    const corrupt = Buffer.from(tar.subarray(0, 512));
    corrupt[0] = corrupt[0]! ^ 0xff;
    expect(isTarHeader(corrupt)).toBe(false);
    expect(isTarHeader(Buffer.alloc(512))).toBe(false);
    const r = await roots();
    const truncated = path.join(r.src, 'trunc.gz');
    await writeFile(truncated, gzipSync(tar).subarray(0, 12));
    expect(await detectArchive(truncated)).toBeNull();
  });
});

describe('ADD: archive containment', () => {
  it('rejects an entry climbing out with ../ and writes nothing outside', async () => {
    const r = await roots();
    const tar = await makeTar([{ name: '../../outside/marker', body: 'pwned' }, { name: '../evil', body: 'pwned' }]);
    await expect(addArchive(r, 'evil.tar', tar)).rejects.toMatchObject({ code: 'fileops/archive-breakout' });
    await assertContained(r);
  });

  it('places an absolute entry name inside the destination', async () => {
    const r = await roots();
    await addArchive(r, 'abs.tar', await makeTar([{ name: '/etc/abs-file', body: 'abs' }]));
    expect(await readFile(path.join(r.dest, 'x/etc/abs-file'), 'utf8')).toBe('abs');
    await assertContained(r);
  });

  it.each([
    ['/', 'x/outside/marker'],
    ['../../../../../../..', 'x/outside/marker'],
    ['__OUTSIDE__', 'x/__OUTSIDE__/outside/marker'],
  ])('a symlink entry to %j then a file written through it stays inside the destination', async (linkTarget, landed) => {
    const r = await roots();
    const target = linkTarget === '__OUTSIDE__' ? r.outside : linkTarget;
    const tar = await makeTar([
      { name: 'esc', type: 'symlink', linkname: target },
      { name: 'esc/outside/marker', body: 'pwned' },
    ]);
    await addArchive(r, 'sym.tar', tar);
    const where = landed.replace('__OUTSIDE__', r.outside.slice(1));
    expect(await readFile(path.join(r.dest, where), 'utf8')).toBe('pwned');
    expect(await readlink(path.join(r.dest, 'x/esc'))).toBe(target);
    await assertContained(r);
  });

  it('a directory made by the archive cannot be swapped for a symlink between two entries', async () => {
    // The extractor remembers parent directories it has resolved; a later entry must not be able to turn one into a
    // symlink to the host and have the next file follow it.
    const r = await roots();
    const tar = await makeTar([
      { name: 'd/', type: 'directory' },
      { name: 'd/first', body: 'ok' },
      { name: 'd', type: 'symlink', linkname: r.outside },
      { name: 'd/marker', body: 'pwned' },
    ]);
    await expect(addArchive(r, 'swap.tar', tar)).rejects.toMatchObject({ code: 'fileops/replace-directory' });
    expect(await readFile(path.join(r.dest, 'x/d/first'), 'utf8')).toBe('ok');
    await assertContained(r);
  });

  it('a parent reached through a symlink is resolved again for every entry (the symlink may be replaced)', async () => {
    const r = await roots();
    const tar = await makeTar([
      { name: 'one/', type: 'directory' },
      { name: 'two/', type: 'directory' },
      { name: 's', type: 'symlink', linkname: 'one' },
      { name: 's/a', body: 'a' },
      { name: 's', type: 'symlink', linkname: 'two' },
      { name: 's/b', body: 'b' },
    ]);
    await addArchive(r, 'relink.tar', tar);
    expect(await tree(path.join(r.dest, 'x'))).toEqual({ 'one/': 'dir', 'one/a': 'a', 's': '-> two', 'two/': 'dir', 'two/b': 'b' });
    await assertContained(r);
  });

  it('a symlink entry cannot be used to write through a pre-existing destination symlink either', async () => {
    const r = await roots();
    await mkdir(path.join(r.dest, 'x'));
    await symlink(path.join(r.outside), path.join(r.dest, 'x/pre'));
    await addArchive(r, 'pre.tar', await makeTar([{ name: 'pre/marker', body: 'pwned' }]));
    await assertContained(r);
  });

  it('rejects a hardlink to a path outside the destination', async () => {
    const r = await roots();
    const tar = await makeTar([{ name: 'h', type: 'link', linkname: '../outside/marker' }]);
    await expect(addArchive(r, 'hard.tar', tar)).rejects.toMatchObject({ code: 'fileops/archive-breakout' });
    await assertContained(r);
  });

  it('resolves hardlink targets inside the destination, never through symlinks to the host', async () => {
    const r = await roots();
    const tar = await makeTar([
      { name: 'root', type: 'symlink', linkname: '/' },
      { name: 'esc', type: 'symlink', linkname: `../../outside/marker` },
      { name: 'h-abs', type: 'link', linkname: `/${r.outside.slice(1)}/marker` },
    ]);
    // The absolute hardlink target does not exist inside the destination: an error, not a link to the host file.
    await expect(addArchive(r, 'hard2.tar', tar)).rejects.toMatchObject({ code: 'fileops/archive-invalid' });
    const tar2 = await makeTar([
      { name: 'esc', type: 'symlink', linkname: `../../outside/marker` },
      { name: 'h-sym', type: 'link', linkname: 'esc' },
      { name: 'h-via-root', type: 'link', linkname: 'root/esc' },
      { name: 'root', type: 'symlink', linkname: '/' },
    ]);
    await expect(addArchive(r, 'hard3.tar', tar2, '/y/')).rejects.toMatchObject({ code: 'fileops/archive-invalid' });
    // h-sym is a hardlink to the symlink itself, not to the outside file.
    expect((await lstat(path.join(r.dest, 'y/h-sym'))).isSymbolicLink()).toBe(true);
    await assertContained(r);
    expect(await readFile(path.join(r.outside, 'marker'), 'utf8')).toBe(OUTSIDE_SECRET);
  });
});
