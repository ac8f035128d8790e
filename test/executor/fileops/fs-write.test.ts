import { copyFile, lstat, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { placeEntry } from '../../../executor/fileops/fs-write.ts';
import { assertContained, OUTSIDE_SECRET, roots } from './helpers.ts';

describe('placeEntry', () => {
  it('creates a new name in place, without a temporary sibling', async () => {
    const r = await roots();
    const target = path.join(r.dest, 'new');
    const seen: string[] = [];
    await placeEntry(r.dest, target, async (p) => {
      seen.push(p);
      await writeFile(p, 'new', { flag: 'wx' });
    });
    expect(seen).toEqual([target]);
    expect(await readFile(target, 'utf8')).toBe('new');
  });

  it('replaces an existing file through a temporary name', async () => {
    const r = await roots();
    const target = path.join(r.dest, 'old');
    await writeFile(target, 'old');
    const seen: string[] = [];
    await placeEntry(r.dest, target, async (p) => {
      seen.push(p);
      await writeFile(p, 'replaced', { flag: 'wx' });
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toBe(target);
    expect(await readFile(target, 'utf8')).toBe('replaced');
  });

  it.each([
    ['writeFile wx', (src: string, p: string) => writeFile(p, 'payload', { flag: 'wx' })],
    ['copyFile EXCL', (src: string, p: string) => copyFile(src, p, constants.COPYFILE_EXCL)],
  ])('a symlink appearing at a new name between the check and the creation is replaced, not followed (%s)', async (_name, make) => {
    const r = await roots();
    const src = path.join(r.src, 'payload');
    await writeFile(src, 'payload');
    const target = path.join(r.dest, 'raced');
    let first = true;
    await placeEntry(r.dest, target, async (p) => {
      if (first) {
        // The race: the name was free when placeEntry looked, and now points outside the root.
        first = false;
        await symlink(path.join(r.outside, 'marker'), target);
      }
      await make(src, p);
    });
    expect((await lstat(target)).isFile()).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('payload');
    expect(await readFile(path.join(r.outside, 'marker'), 'utf8')).toBe(OUTSIDE_SECRET);
    await assertContained(r);
  });

  it('never replaces a directory', async () => {
    const r = await roots();
    await mkdir(path.join(r.dest, 'd'));
    await expect(placeEntry(r.dest, path.join(r.dest, 'd'), (p) => writeFile(p, 'x', { flag: 'wx' }))).rejects.toMatchObject({ code: 'fileops/replace-directory' });
    expect((await lstat(path.join(r.dest, 'd'))).isDirectory()).toBe(true);
  });
});
