import { chmod, chown, link, lstat, mkdir, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { copy } from '../../../executor/fileops/copy.ts';
import { assertContained, OUTSIDE_SECRET, req, roots, tree, type Roots } from './helpers.ts';

const T1 = new Date('2021-03-04T05:06:07Z');

/** A small context: files with distinct modes/owners/mtimes, a nested dir, symlinks of every flavour. */
async function context(r: Roots): Promise<void> {
  const s = (p: string) => path.join(r.src, p);
  await mkdir(s('dir/sub'), { recursive: true });
  await writeFile(s('a.txt'), 'A');
  await writeFile(s('b.txt'), 'B');
  await writeFile(s('c.log'), 'C');
  await writeFile(s('dir/f'), 'F');
  await writeFile(s('dir/x.log'), 'XLOG');
  await writeFile(s('dir/sub/g'), 'G');
  await writeFile(s('dir/sub/y.log'), 'YLOG');
  await chmod(s('a.txt'), 0o640);
  await chmod(s('dir/f'), 0o751);
  await chmod(s('dir/sub'), 0o711);
  for (const p of ['a.txt', 'dir/f', 'dir', 'dir/sub/g']) {
    await chown(s(p), 1234, 5678);
    await utimes(s(p), T1, T1);
  }
  await symlink('/etc/passwd', s('dir/abs-link'));
  await symlink('../../outside/marker', s('dir/escape-link'));
  await symlink('a.txt', s('file-link'));
  await symlink('dir', s('dir-link'));
  await symlink('/', s('root-link'));
  await symlink('/etc', s('etc-link'));
}

async function mode(p: string): Promise<number> {
  return (await lstat(p)).mode & 0o7777;
}

describe('COPY: destinations and sources', () => {
  it('copies a file to a new file path, keeping mode and mtime, owner 0:0', async () => {
    const r = await roots();
    await context(r);
    const res = await copy(req(r, ['a.txt'], '/x'));
    const st = await stat(path.join(r.dest, 'x'));
    expect(await readFile(path.join(r.dest, 'x'), 'utf8')).toBe('A');
    expect(st.mode & 0o7777).toBe(0o640);
    expect([st.uid, st.gid]).toEqual([0, 0]);
    expect(st.mtime.getTime()).toBe(T1.getTime());
    expect(res).toEqual({ filesCopied: 1, bytes: 1 });
  });

  it('copies into a directory for a trailing slash, creating parents 0755 root-owned', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['a.txt'], '/p/q/'));
    expect(await tree(r.dest)).toEqual({ 'p/': 'dir', 'p/q/': 'dir', 'p/q/a.txt': 'A' });
    expect(await mode(path.join(r.dest, 'p'))).toBe(0o755);
    expect(await mode(path.join(r.dest, 'p/q'))).toBe(0o755);
  });

  it('copies into an existing directory named without a slash', async () => {
    const r = await roots();
    await context(r);
    await mkdir(path.join(r.dest, 'd'));
    await copy(req(r, ['a.txt'], '/d'));
    expect(await readFile(path.join(r.dest, 'd/a.txt'), 'utf8')).toBe('A');
  });

  it('copies a directory source as its contents, preserving nested metadata', async () => {
    const r = await roots();
    await context(r);
    const res = await copy(req(r, ['dir'], '/out'));
    expect(await tree(r.dest)).toEqual({
      'out/': 'dir',
      'out/abs-link': '-> /etc/passwd',
      'out/escape-link': '-> ../../outside/marker',
      'out/f': 'F',
      'out/sub/': 'dir',
      'out/sub/g': 'G',
      'out/sub/y.log': 'YLOG',
      'out/x.log': 'XLOG',
    });
    // The new top directory is created like a parent (0755); nested ones keep the source mode.
    expect(await mode(path.join(r.dest, 'out'))).toBe(0o755);
    expect(await mode(path.join(r.dest, 'out/sub'))).toBe(0o711);
    expect(await mode(path.join(r.dest, 'out/f'))).toBe(0o751);
    expect((await stat(path.join(r.dest, 'out/sub/g'))).mtime.getTime()).toBe(T1.getTime());
    expect(res.filesCopied).toBe(7);
    await assertContained(r);
  });

  it('rejects several sources for a destination without a trailing slash, writing nothing', async () => {
    const r = await roots();
    await context(r);
    await expect(copy(req(r, ['a.txt', 'b.txt'], '/d'))).rejects.toMatchObject({
      code: 'fileops/dest-not-directory',
      message: 'When using COPY with more than one source file, the destination must be a directory and end with a /',
    });
    await expect(copy(req(r, ['*.txt'], '/d', { add: true }))).rejects.toThrow(/When using ADD with more than one source file/);
    expect(await tree(r.dest)).toEqual({});
  });

  it('expands wildcards per component in lexical order', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['*.txt', 'dir/*/?', 'd[h-j]r/*.log'], '/w/'));
    expect(await tree(r.dest)).toEqual({ 'w/': 'dir', 'w/a.txt': 'A', 'w/b.txt': 'B', 'w/g': 'G', 'w/x.log': 'XLOG' });
  });

  it('accepts a wildcard with exactly one match for a file destination', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['a.t?t'], '/single'));
    expect(await readFile(path.join(r.dest, 'single'), 'utf8')).toBe('A');
  });

  it('treats a wildcard that matches nothing as empty (BuildKit AllowEmptyWildcard) but a missing literal as an error', async () => {
    const r = await roots();
    await context(r);
    expect(await copy(req(r, ['*.none'], '/e/'))).toEqual({ filesCopied: 0, bytes: 0 });
    await expect(copy(req(r, ['missing.txt'], '/e/'))).rejects.toMatchObject({
      code: 'fileops/source-not-found',
      message: 'failed to compute cache key: "/missing.txt": not found',
    });
  });

  it('resolves a relative destination against WORKDIR', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['a.txt'], 'rel/', { workdir: '/app' }));
    await copy(req(r, ['b.txt'], '.', { workdir: '/app' }));
    await copy(req(r, ['c.log'], 'renamed.log', { workdir: '/app' }));
    expect(await tree(path.join(r.dest, 'app'))).toEqual({ 'b.txt': 'B', 'rel/': 'dir', 'rel/a.txt': 'A', 'renamed.log': 'C' });
  });

  it('strips a leading / and ../ from sources (they cannot leave the source root)', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['/a.txt', '../../b.txt'], '/s/'));
    expect(await tree(r.dest)).toEqual({ 's/': 'dir', 's/a.txt': 'A', 's/b.txt': 'B' });
    await expect(copy(req(r, ['../outside/marker'], '/s/'))).rejects.toMatchObject({ code: 'fileops/source-not-found' });
    await assertContained(r);
  });

  it('replaces an existing file and an existing symlink at the target instead of writing through it', async () => {
    const r = await roots();
    await context(r);
    await mkdir(path.join(r.dest, 'd'));
    await writeFile(path.join(r.dest, 'd/a.txt'), 'old');
    await symlink('../../outside/marker', path.join(r.dest, 'd/b.txt'));
    await copy(req(r, ['a.txt', 'b.txt'], '/d/'));
    expect(await tree(path.join(r.dest, 'd'))).toEqual({ 'a.txt': 'A', 'b.txt': 'B' });
    await assertContained(r);
  });

  it('refuses to replace a directory with a file', async () => {
    const r = await roots();
    await context(r);
    await mkdir(path.join(r.dest, 'd/a.txt'), { recursive: true });
    await expect(copy(req(r, ['a.txt'], '/d/'))).rejects.toMatchObject({ code: 'fileops/replace-directory' });
  });
});

describe('COPY: ownership, modes, times, links', () => {
  it('--chown applies to every copied entry and to created parents', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['dir'], '/p/out', { chown: { uid: 1000, gid: 1001 } }));
    for (const p of ['p', 'p/out', 'p/out/f', 'p/out/sub', 'p/out/sub/g', 'p/out/abs-link']) {
      const st = await lstat(path.join(r.dest, p));
      expect([p, st.uid, st.gid]).toEqual([p, 1000, 1001]);
    }
  });

  it('keeps owners from another stage (preserveOwnership) unless --chown', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['dir'], '/keep', { preserveOwnership: true }));
    const st = await stat(path.join(r.dest, 'keep/f'));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    await copy(req(r, ['dir'], '/ctx'));
    const st2 = await stat(path.join(r.dest, 'ctx/f'));
    expect([st2.uid, st2.gid]).toEqual([0, 0]);
  });

  it.each([
    [0o600, 'a.txt', 0o600],
    ['755', 'a.txt', 0o755],
    ['0644', 'a.txt', 0o644],
    ['u+x,g-w', 'b.txt', 0o744], // b.txt is 0664 (set below)
    ['a=rX', 'b.txt', 0o444],
    ['go=u', 'a.txt', 0o666],
    ['+x', 'a.txt', 0o751],
  ])('--chmod %j on %s gives %s', async (spec, file, expected) => {
    const r = await roots();
    await context(r);
    await chmod(path.join(r.src, 'b.txt'), 0o664);
    await copy(req(r, [file], '/m', { chmod: spec }));
    expect((await mode(path.join(r.dest, 'm'))).toString(8)).toBe(expected.toString(8));
  });

  it('--chmod symbolic X adds execute to directories only', async () => {
    const r = await roots();
    await context(r);
    await chmod(path.join(r.src, 'dir/sub/g'), 0o600);
    await copy(req(r, ['dir'], '/m/', { chmod: 'a+rX' }));
    expect((await mode(path.join(r.dest, 'm/sub'))).toString(8)).toBe('755');
    expect((await mode(path.join(r.dest, 'm/sub/g'))).toString(8)).toBe('644');
    expect((await mode(path.join(r.dest, 'm/f'))).toString(8)).toBe('755');
  });

  it('rejects an invalid --chmod before writing', async () => {
    const r = await roots();
    await context(r);
    await expect(copy(req(r, ['a.txt'], '/m', { chmod: 'u+q' }))).rejects.toMatchObject({ code: 'fileops/invalid-chmod' });
    await expect(copy(req(r, ['a.txt'], '/m', { chmod: '99999' }))).rejects.toMatchObject({ code: 'fileops/invalid-chmod' });
    expect(await tree(r.dest)).toEqual({});
  });

  it('SOURCE_DATE_EPOCH sets every mtime, including symlinks and created parents', async () => {
    const r = await roots();
    await context(r);
    const epoch = 1_700_000_000;
    await copy(req(r, ['dir'], '/p/e', { sourceDateEpoch: epoch }));
    for (const p of ['p', 'p/e/f', 'p/e/sub', 'p/e/abs-link']) {
      expect([p, (await lstat(path.join(r.dest, p))).mtimeMs]).toEqual([p, epoch * 1000]);
    }
  });

  it('keeps hardlinks among copied files', async () => {
    const r = await roots();
    await context(r);
    await link(path.join(r.src, 'dir/f'), path.join(r.src, 'dir/sub/f-hard'));
    await copy(req(r, ['dir'], '/h'));
    const a = await stat(path.join(r.dest, 'h/f'));
    const b = await stat(path.join(r.dest, 'h/sub/f-hard'));
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
  });

  it('follows a symlink named as the source (file and directory) but copies nested symlinks as links', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['file-link'], '/fl/'));
    await copy(req(r, ['dir-link/'], '/dl'));
    const st = await lstat(path.join(r.dest, 'fl/file-link'));
    expect(st.isFile()).toBe(true);
    expect(await readFile(path.join(r.dest, 'fl/file-link'), 'utf8')).toBe('A');
    expect(await readlink(path.join(r.dest, 'dl/escape-link'))).toBe('../../outside/marker');
    expect((await lstat(path.join(r.dest, 'dl/sub'))).isDirectory()).toBe(true);
  });
});

describe('COPY: --exclude, --parents, .dockerignore', () => {
  it('--exclude matches paths relative to each copied source', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['dir'], '/x1/', { exclude: ['*.log'] }));
    await copy(req(r, ['dir'], '/x2/', { exclude: ['**/*.log', 'abs-link'] }));
    await copy(req(r, ['dir'], '/x3/', { exclude: ['sub'] }));
    await copy(req(r, ['*'], '/x4/', { exclude: ['*.txt', 'dir*', 'root-link', 'etc-link'] }));
    const t = await tree(r.dest);
    expect(Object.keys(t).filter((k) => k.startsWith('x1/'))).toEqual(['x1/', 'x1/abs-link', 'x1/escape-link', 'x1/f', 'x1/sub/', 'x1/sub/g', 'x1/sub/y.log']);
    expect(Object.keys(t).filter((k) => k.startsWith('x2/'))).toEqual(['x2/', 'x2/escape-link', 'x2/f', 'x2/sub/', 'x2/sub/g']);
    expect(Object.keys(t).filter((k) => k.startsWith('x3/'))).toEqual(['x3/', 'x3/abs-link', 'x3/escape-link', 'x3/f', 'x3/x.log']);
    expect(Object.keys(t).filter((k) => k.startsWith('x4/'))).toEqual(['x4/', 'x4/c.log', 'x4/file-link']);
  });

  it('--parents keeps the source path, relative to a /./ pivot when given', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['dir/sub/g', 'dir/./sub/y.log'], '/p/', { parents: true }));
    expect(await tree(path.join(r.dest, 'p'))).toEqual({ 'dir/': 'dir', 'dir/sub/': 'dir', 'dir/sub/g': 'G', 'sub/': 'dir', 'sub/y.log': 'YLOG' });
    // Parent directories take their source metadata.
    expect(await mode(path.join(r.dest, 'p/dir/sub'))).toBe(0o711);
  });

  it('--parents with ** and wildcards, combined with --exclude', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['**/*.log'], '/q/', { parents: true, exclude: ['c.log'] }));
    expect(await tree(path.join(r.dest, 'q'))).toEqual({ 'dir/': 'dir', 'dir/sub/': 'dir', 'dir/sub/y.log': 'YLOG', 'dir/x.log': 'XLOG' });
    await expect(copy(req(r, ['nope/x'], '/q/', { parents: true }))).rejects.toMatchObject({ code: 'fileops/source-not-found' });
  });

  it('.dockerignore: ignored files are absent, a re-included file keeps its ignored parent', async () => {
    const r = await roots();
    await context(r);
    const ignore = (rel: string) => rel === 'b.txt' || rel === 'dir' || (rel.startsWith('dir/') && rel !== 'dir/sub/g' && rel !== 'dir/sub');
    await copy(req(r, ['.'], '/i/', { isIgnored: ignore }));
    const t = await tree(path.join(r.dest, 'i'));
    expect(t['b.txt']).toBeUndefined();
    expect(t['a.txt']).toBe('A');
    expect(Object.keys(t).filter((k) => k.startsWith('dir/'))).toEqual(['dir/', 'dir/sub/', 'dir/sub/g']);
    expect(t['dir-link']).toBe('-> dir');
    await expect(copy(req(r, ['b.txt'], '/i2/', { isIgnored: ignore }))).rejects.toMatchObject({ code: 'fileops/source-not-found' });
  });
});

describe('COPY: containment (nothing read or written outside the roots)', () => {
  it('a context symlink to /etc used as a source resolves inside the context (so it is not found)', async () => {
    const r = await roots();
    await context(r);
    await expect(copy(req(r, ['etc-link'], '/x/'))).rejects.toMatchObject({ code: 'fileops/source-not-found' });
    await expect(copy(req(r, ['etc-link/passwd'], '/x'))).rejects.toMatchObject({ code: 'fileops/source-not-found' });
    await expect(copy(req(r, ['etc-l*'], '/x/'))).resolves.toEqual({ filesCopied: 0, bytes: 0 });
    expect(await tree(r.dest)).toEqual({});
    await assertContained(r);
  });

  it('COPY root-link/ /x where root-link -> / copies the context itself, nothing from the host', async () => {
    const r = await roots();
    await context(r);
    await copy(req(r, ['root-link/'], '/x'));
    const t = await tree(path.join(r.dest, 'x'));
    expect(t['a.txt']).toBe('A');
    expect(t['dir/sub/g']).toBe('G');
    expect(t['passwd']).toBeUndefined();
    expect(t['root-link']).toBe('-> /');
    await assertContained(r);
  });

  it.each([
    ['/evil/', 'evil', '/', 'a.txt'],
    ['/up/x', 'up', '../../..', 'x'],
    ['/sib/marker', 'sib', '../outside', 'outside/marker'],
    ['/abs-outside/marker', 'abs-outside', '', 'PLACEHOLDER'],
    ['/deep/er/evil/', 'deep/er/evil', '/', 'a.txt'],
    ['/deep/er/up/x', 'deep/er/up', '../../../../..', 'x'],
  ])('a destination %j through a destRoot symlink stays inside destRoot', async (dest, linkName, linkTarget, landed) => {
    const r = await roots();
    await context(r);
    const target = linkTarget === '' ? r.outside : linkTarget; // an absolute host path: resolved as <destRoot><path>
    await mkdir(path.dirname(path.join(r.dest, linkName)), { recursive: true });
    await symlink(target, path.join(r.dest, linkName));
    await copy(req(r, ['a.txt'], dest));
    const expectedAt = landed === 'PLACEHOLDER' ? path.join(r.dest, r.outside, 'marker') : path.join(r.dest, landed);
    expect(await readFile(expectedAt, 'utf8')).toBe('A');
    await assertContained(r);
  });

  it('merging a directory into a destRoot symlink to / stays inside destRoot', async () => {
    const r = await roots();
    await context(r);
    await mkdir(path.join(r.src, 'tree/usr'), { recursive: true });
    await writeFile(path.join(r.src, 'tree/usr/marker'), 'from-context');
    await symlink('/', path.join(r.dest, 'usr'));
    await copy(req(r, ['tree'], '/'));
    // usr -> / resolves to destRoot itself, so usr/marker lands at destRoot/marker.
    expect(await readFile(path.join(r.dest, 'marker'), 'utf8')).toBe('from-context');
    expect(await readlink(path.join(r.dest, 'usr'))).toBe('/');
    await assertContained(r);
  });

  it('context symlinks that point outside are copied as symlinks, never read', async () => {
    const r = await roots();
    await context(r);
    await symlink('/', path.join(r.src, 'dir/sub/root-inside'));
    await copy(req(r, ['dir'], '/c/'));
    expect(await readlink(path.join(r.dest, 'c/escape-link'))).toBe('../../outside/marker');
    expect(await readlink(path.join(r.dest, 'c/sub/root-inside'))).toBe('/');
    await assertContained(r);
    // The link really escapes on the host (so following it would have leaked the secret into the destination).
    expect(await readFile(path.join(r.src, 'dir/escape-link'), 'utf8')).toBe(OUTSIDE_SECRET);
  });
});
