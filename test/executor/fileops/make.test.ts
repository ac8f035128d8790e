import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileChmod } from '../../../executor/fileops/chmod.ts';
import { makeDir, makeFile } from '../../../executor/fileops/make.ts';
import { assertContained, roots, tree } from './helpers.ts';

describe('makeFile (COPY <<EOF)', () => {
  it('writes the body with mode and owner, creating parents 0755 with the same owner', async () => {
    const r = await roots();
    const n = await makeFile(r.dest, '/etc/app/conf.ini', 'key=value\n', 0o640, { uid: 33, gid: 34 }, { sourceDateEpoch: 1_600_000_000 });
    expect(n).toBe(10);
    const st = await stat(path.join(r.dest, 'etc/app/conf.ini'));
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o640, 33, 34, 1_600_000_000_000]);
    const parent = await stat(path.join(r.dest, 'etc/app'));
    expect([parent.mode & 0o7777, parent.uid, parent.gid]).toEqual([0o755, 33, 34]);
    expect(await readFile(path.join(r.dest, 'etc/app/conf.ini'), 'utf8')).toBe('key=value\n');
  });

  it('replaces a symlink at the path instead of writing through it, and stays inside through parent links', async () => {
    const r = await roots();
    await symlink(path.join(r.outside, 'marker'), path.join(r.dest, 'target'));
    await symlink('/', path.join(r.dest, 'rootlink'));
    await makeFile(r.dest, '/target', 'new', 0o644);
    await makeFile(r.dest, '/rootlink/via-link', 'via', 0o644);
    expect((await lstat(path.join(r.dest, 'target'))).isFile()).toBe(true);
    expect(await readFile(path.join(r.dest, 'via-link'), 'utf8')).toBe('via');
    await assertContained(r);
  });

  it('refuses a directory path or an existing directory', async () => {
    const r = await roots();
    await mkdir(path.join(r.dest, 'd'));
    await expect(makeFile(r.dest, '/x/', 'a', 0o644)).rejects.toMatchObject({ code: 'fileops/invalid-path' });
    await expect(makeFile(r.dest, '/d', 'a', 0o644)).rejects.toMatchObject({ code: 'fileops/replace-directory' });
  });
});

describe('makeDir (WORKDIR)', () => {
  it('creates the directory and parents with mode and owner', async () => {
    const r = await roots();
    await makeDir(r.dest, '/srv/app/data', 0o755, { uid: 1000, gid: 1000 }, true);
    for (const p of ['srv', 'srv/app', 'srv/app/data']) {
      const st = await stat(path.join(r.dest, p));
      expect([p, st.isDirectory(), st.mode & 0o7777, st.uid, st.gid]).toEqual([p, true, 0o755, 1000, 1000]);
    }
  });

  it('leaves an existing directory (or a symlink to one inside the root) alone', async () => {
    const r = await roots();
    await mkdir(path.join(r.dest, 'real'), { mode: 0o700 });
    await symlink('/real', path.join(r.dest, 'alias'));
    await makeDir(r.dest, '/real', 0o755, { uid: 5, gid: 5 }, true);
    await makeDir(r.dest, '/alias', 0o755, undefined, true);
    const st = await stat(path.join(r.dest, 'real'));
    expect([st.mode & 0o7777, st.uid]).toEqual([0o700, 0]);
    expect(await readlink(path.join(r.dest, 'alias'))).toBe('/real');
  });

  it('without parents, a missing parent is an error; a file in the way is an error', async () => {
    const r = await roots();
    await writeFile(path.join(r.dest, 'file'), 'x');
    await expect(makeDir(r.dest, '/a/b', 0o755, undefined, false)).rejects.toMatchObject({ code: 'fileops/parent-missing' });
    await expect(makeDir(r.dest, '/file', 0o755, undefined, true)).rejects.toMatchObject({ code: 'fileops/not-a-directory' });
    await expect(makeDir(r.dest, '/file/sub', 0o755, undefined, true)).rejects.toMatchObject({ code: 'fileops/not-a-directory' });
  });

  it('a WORKDIR through a symlink to the host stays inside the root', async () => {
    const r = await roots();
    await symlink(r.outside, path.join(r.dest, 'w'));
    await symlink('../../../..', path.join(r.dest, 'up'));
    await makeDir(r.dest, '/w/new', 0o755, undefined, true);
    await makeDir(r.dest, '/up/top', 0o755, undefined, true);
    expect((await stat(path.join(r.dest, r.outside, 'new'))).isDirectory()).toBe(true);
    expect((await stat(path.join(r.dest, 'top'))).isDirectory()).toBe(true);
    await assertContained(r);
    expect(Object.keys(await tree(r.dest))).toContain('top/');
  });
});

describe('compileChmod', () => {
  it.each([
    ['u+x', 0o644, false, 0o744],
    ['g+w,o-r', 0o644, false, 0o660],
    ['a-w', 0o666, false, 0o444],
    ['u=rwx,go=rx', 0o600, false, 0o755],
    ['a+X', 0o644, false, 0o644],
    ['a+X', 0o744, false, 0o755],
    ['a+X', 0o600, true, 0o711],
    ['u+s,g+s', 0o755, false, 0o6755],
    ['+t', 0o777, true, 0o1777],
    ['o=g', 0o654, false, 0o655],
    ['u-w+x', 0o644, false, 0o544],
    ['=', 0o777, false, 0o000],
  ] as const)('%j on %s (dir=%j) -> %s', (spec, start, isDir, expected) => {
    expect(compileChmod(spec)(start, isDir).toString(8)).toBe(expected.toString(8));
  });

  it.each(['', 'x+u', 'u+rwz', 'u+ug', '8', 'u+x,,g+x', '0o755'])('rejects %j', (spec) => {
    expect(() => compileChmod(spec)).toThrow(/invalid chmod value/);
  });
});
