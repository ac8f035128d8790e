import { mkdir, symlink, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanPath, isWithin, resolveInRoot } from '../../util/safe-path.ts';
import { tempDir } from '../helpers/env.ts';

/** root/ with a few files and hostile links; `outside/` is a sibling the resolution must never reach. */
async function fixture(): Promise<{ root: string; outside: string }> {
  const base = await tempDir('tsbuild-safepath-');
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'a/b'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(outside, 'marker'), 'outside');
  await writeFile(path.join(root, 'a/b/file'), 'in');
  await symlink('/', path.join(root, 'to-root'));
  await symlink('../../..', path.join(root, 'a/up'));
  await symlink('/etc', path.join(root, 'etc-link'));
  await symlink('b/file', path.join(root, 'a/rel-file'));
  await symlink('/a/b', path.join(root, 'abs-dir'));
  await symlink('../outside', path.join(root, 'sibling'));
  await symlink('loop2', path.join(root, 'loop1'));
  await symlink('loop1', path.join(root, 'loop2'));
  await symlink('dangling-target', path.join(root, 'dangling'));
  await symlink('/', path.join(root, 'a/b/abs-root'));
  await symlink('/a/b/file', path.join(root, 'a/abs-file'));
  return { root, outside };
}

describe('resolveInRoot', () => {
  const cases: [input: string, followFinal: boolean, expected: string][] = [
    ['a/b/file', true, 'a/b/file'],
    ['/a/b/file', true, 'a/b/file'],
    ['../../a/b/file', true, 'a/b/file'],
    ['a/../../../..', true, ''],
    ['to-root', true, ''],
    ['to-root', false, 'to-root'],
    ['to-root/a/b/file', false, 'a/b/file'],
    ['a/up', true, ''],
    ['a/up/outside/marker', true, 'outside/marker'],
    ['etc-link/passwd', true, 'etc/passwd'],
    ['etc-link', false, 'etc-link'],
    ['a/rel-file', true, 'a/b/file'],
    ['a/rel-file', false, 'a/rel-file'],
    ['abs-dir/file', true, 'a/b/file'],
    ['abs-dir/..', true, 'a'],
    ['sibling/marker', true, 'outside/marker'],
    ['dangling', true, 'dangling-target'],
    ['dangling', false, 'dangling'],
    ['missing/x/../y', true, 'missing/y'],
    ['a/b/file/deeper', true, 'a/b/file/deeper'],
    ['a/b/abs-root', true, ''],
    ['a/b/abs-root/a/b/file', true, 'a/b/file'],
    ['a/abs-file', true, 'a/b/file'],
    ['a/b/abs-root/../../..', true, ''],
    ['', true, ''],
    ['/', true, ''],
  ];
  it.each(cases)('%j (followFinal=%j) -> root/%s', async (input, followFinal, expected) => {
    const { root } = await fixture();
    const got = await resolveInRoot(root, input, { followFinal });
    expect(got).toBe(expected === '' ? root : path.join(root, expected));
    expect(isWithin(root, got)).toBe(true);
  });

  it('gives up on symlink loops with a clear error', async () => {
    const { root } = await fixture();
    await expect(resolveInRoot(root, 'loop1', { followFinal: true })).rejects.toMatchObject({ code: 'path/too-many-links' });
    // Not following the final component never touches the loop.
    expect(await resolveInRoot(root, 'loop1', { followFinal: false })).toBe(path.join(root, 'loop1'));
  });

  it('counts hops across a long chain (40 allowed, 41 rejected)', async () => {
    const base = await tempDir('tsbuild-safepath-chain-');
    await writeFile(path.join(base, 'l0'), 'end');
    for (let i = 1; i <= 41; i++) await symlink(`l${i - 1}`, path.join(base, `l${i}`));
    expect(await resolveInRoot(base, 'l40', { followFinal: true })).toBe(path.join(base, 'l0'));
    await expect(resolveInRoot(base, 'l41', { followFinal: true })).rejects.toMatchObject({ code: 'path/too-many-links' });
  });
});

describe('cleanPath (Go path.Clean)', () => {
  it.each([
    ['', '.'],
    ['abc', 'abc'],
    ['abc/def', 'abc/def'],
    ['a/b/c/', 'a/b/c'],
    ['//abc', '/abc'],
    ['abc//def//ghi', 'abc/def/ghi'],
    ['abc/./def', 'abc/def'],
    ['/./abc/def', '/abc/def'],
    ['abc/def/..', 'abc'],
    ['abc/def/../..', '.'],
    ['/abc/def/../..', '/'],
    ['abc/def/../../..', '..'],
    ['/abc/def/../../..', '/'],
    ['abc/def/../../../ghi/jkl/../../../mno', '../../mno'],
    ['/../x', '/x'],
  ])('%j -> %j', (input, expected) => {
    expect(cleanPath(input)).toBe(expected);
  });
});
