/** The copy snapshotter's differ (executor/snapshot/diff.ts) on real directory trees. */
import { lstat, lutimes, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { diffToUpper, treeChanges } from '../../../executor/snapshot/diff.ts';

let dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});
async function temp(): Promise<string> {
  const d = await mkdtemp(path.join(tmpdir(), 'tsb-diff-'));
  dirs.push(d);
  return d;
}

/** Two identical trees with fixed times (so only what the test changes differs). */
async function twin(): Promise<{ before: string; after: string }> {
  const root = await temp();
  const before = path.join(root, 'before');
  const after = path.join(root, 'after');
  for (const t of [before, after]) {
    await mkdir(path.join(t, 'etc/sub'), { recursive: true });
    await writeFile(path.join(t, 'etc/keep'), 'same\n');
    await writeFile(path.join(t, 'etc/edit'), 'old\n');
    await writeFile(path.join(t, 'etc/sub/gone'), 'x\n');
    await writeFile(path.join(t, 'whole'), 'sec\n');
    await symlink('etc/keep', path.join(t, 'link'));
    await lutimes(path.join(t, 'link'), 1_600_000_000.5, 1_600_000_000.5);
    for (const p of ['etc/keep', 'etc/edit', 'etc/sub/gone', 'whole', 'etc/sub', 'etc', '.']) await utimes(path.join(t, p), 1_600_000_000.5, 1_600_000_000.5);
  }
  return { before, after };
}

describe('treeChanges', () => {
  it('identical trees: nothing', async () => {
    const { before, after } = await twin();
    expect(await treeChanges(before, after)).toEqual({ copy: [], deleted: [] });
  });

  it('adds, edits, deletions, a retargeted symlink, a mode change: each with its parents, parents first', async () => {
    const { before, after } = await twin();
    await writeFile(path.join(after, 'etc/edit'), 'new content\n');
    await rm(path.join(after, 'etc/sub/gone'));
    await mkdir(path.join(after, 'new/deep'), { recursive: true });
    await writeFile(path.join(after, 'new/deep/file'), 'n\n');
    await rm(path.join(after, 'link'));
    await symlink('whole', path.join(after, 'link'));
    await chmod(path.join(after, 'whole'), 0o600);
    const c = await treeChanges(before, after);
    expect(c.deleted).toEqual(['etc/sub/gone']);
    expect(c.copy).toEqual(expect.arrayContaining(['etc', 'etc/edit', 'etc/sub', 'link', 'new', 'new/deep', 'new/deep/file', 'whole']));
    expect(c.copy).not.toContain('etc/keep');
    expect(c.copy.indexOf('etc')).toBeLessThan(c.copy.indexOf('etc/edit'));
    expect(c.copy.indexOf('new')).toBeLessThan(c.copy.indexOf('new/deep/file'));
  });

  it('same size and a whole-second mtime: the bytes are compared (BuildKit rule)', async () => {
    const { before, after } = await twin();
    for (const t of [before, after]) await utimes(path.join(t, 'whole'), 1_600_000_000, 1_600_000_000);
    await writeFile(path.join(after, 'whole'), 'SEC\n');
    await utimes(path.join(after, 'whole'), 1_600_000_000, 1_600_000_000);
    expect((await treeChanges(before, after)).copy).toEqual(['whole']);
  });
});

describe('diffToUpper', () => {
  it('writes an overlay upperdir: changed files copied, deletions as 0/0 character devices', async () => {
    const { before, after } = await twin();
    const upper = path.join(await temp(), 'upper');
    await mkdir(upper);
    await writeFile(path.join(after, 'etc/edit'), 'new content\n');
    await rm(path.join(after, 'etc/sub/gone'));
    await diffToUpper(before, after, upper);
    expect(await readFile(path.join(upper, 'etc/edit'), 'utf8')).toBe('new content\n');
    const wh = await lstat(path.join(upper, 'etc/sub/gone'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    await expect(lstat(path.join(upper, 'etc/keep'))).rejects.toThrow();
    await expect(lstat(path.join(upper, 'whole'))).rejects.toThrow();
  });
});
