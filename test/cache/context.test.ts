import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openContext, type OpenContextOptions } from '../../cache/context/context.ts';
import { StatCache } from '../../cache/context/stat-cache.ts';
import { TsbuildError } from '../../util/errors.ts';

let dir: string;
let statDir: string;
const all = { include: ['.'], exclude: [] as string[] };
const write = (rel: string, data: string): void => {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), data);
};
const digest = async (include: string[], opts: OpenContextOptions = {}, exclude: string[] = []): Promise<string> =>
  (await openContext(dir, opts)).digestFor({ include, exclude });
const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof TsbuildError) return e.code;
    throw e;
  }
  return 'no error';
};

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsbuild-ctx-'));
  statDir = mkdtempSync(join(tmpdir(), 'tsbuild-stat-'));
  write('Dockerfile', 'FROM scratch\n');
  write('src/a.ts', 'export const a = 1;\n');
  write('src/lib/b.ts', 'export const b = 2;\n');
  write('docs/readme.md', '# hi\n');
  write('package.json', '{}\n');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(statDir, { recursive: true, force: true });
});

describe('context digests', () => {
  it('are stable and ignore mtime', async () => {
    const d1 = await digest(['.']);
    expect(d1).toMatch(/^xxh64:[0-9a-f]{16}$/);
    utimesSync(join(dir, 'src/a.ts'), new Date(2000, 1, 1), new Date(2000, 1, 1));
    expect(await digest(['.'])).toBe(d1);
  });

  it('change with content, mode and symlink target', async () => {
    symlinkSync('a.ts', join(dir, 'src/link'));
    const d0 = await digest(['src']);
    write('src/a.ts', 'export const a = 2;\n'); // same size, new content
    const d1 = await digest(['src']);
    expect(d1).not.toBe(d0);
    chmodSync(join(dir, 'src/a.ts'), 0o755);
    const d2 = await digest(['src']);
    expect(d2).not.toBe(d1);
    unlinkSync(join(dir, 'src/link'));
    symlinkSync('lib/b.ts', join(dir, 'src/link'));
    expect(await digest(['src'])).not.toBe(d2);
  });

  it('are Merkle: a change outside src/ leaves the src/ digest alone', async () => {
    const src = await digest(['src']);
    const whole = await digest(['.']);
    write('docs/readme.md', '# changed\n');
    expect(await digest(['src'])).toBe(src);
    expect(await digest(['.'])).not.toBe(whole);
    write('src/lib/new.ts', 'x');
    expect(await digest(['src'])).not.toBe(src);
  });

  it('cover the names of matched sources (a rename changes the digest)', async () => {
    const d = await digest(['*.json']);
    rmSync(join(dir, 'package.json'));
    write('other.json', '{}\n');
    expect(await digest(['*.json'])).not.toBe(d);
  });

  it('honour .dockerignore: ignored files do not affect the digest and cannot be selected', async () => {
    write('.dockerignore', 'docs\n*.log\n');
    write('debug.log', 'one');
    const d = await digest(['.']);
    write('debug.log', 'two');
    write('docs/readme.md', 'changed');
    expect(await digest(['.'])).toBe(d);
    expect(await codeOf(digest(['docs/readme.md']))).toBe('context/not-found');
    const ctx = await openContext(dir);
    const names = (await ctx.files(all))[0]!.entries.map((e) => e.path);
    expect(names).not.toContain('debug.log');
    expect(names).not.toContain('docs');
    expect(names).toContain('src/lib/b.ts');
    expect(names).toContain('.dockerignore'); // not ignored unless listed, as in BuildKit
  });

  it('keep an excluded directory when an exception re-includes a descendant', async () => {
    write('.dockerignore', 'docs\n!docs/keep.txt\n');
    write('docs/keep.txt', 'k');
    const ctx = await openContext(dir);
    const names = (await ctx.files(all))[0]!.entries.map((e) => e.path);
    expect(names).toContain('docs');
    expect(names).toContain('docs/keep.txt');
    expect(names).not.toContain('docs/readme.md');
  });

  it('use <Dockerfile>.dockerignore next to the Dockerfile instead of the root one', async () => {
    write('.dockerignore', 'src\n');
    write('build/app.Dockerfile', 'FROM scratch\n');
    write('build/app.Dockerfile.dockerignore', 'docs\n');
    const ctx = await openContext(dir, { dockerfileName: 'build/app.Dockerfile' });
    expect(ctx.ignoreFile).toBe(join(ctx.root, 'build/app.Dockerfile.dockerignore'));
    expect(ctx.isIgnored('docs/readme.md')).toBe(true);
    expect(ctx.isIgnored('src/a.ts')).toBe(false);
    const plain = await openContext(dir);
    expect(plain.isIgnored('src/a.ts')).toBe(true);
  });

  it('expand wildcards per path segment and fail on no match', async () => {
    const ctx = await openContext(dir);
    const m = await ctx.files({ include: ['src/*.ts', 'src/*/b.ts'], exclude: [] });
    expect(m.map((x) => x.name)).toEqual(['src/a.ts', 'src/lib/b.ts']);
    expect(await codeOf(ctx.digestFor({ include: ['*.rs'], exclude: [] }))).toBe('context/no-match');
    expect(await codeOf(ctx.digestFor({ include: ['nope.txt'], exclude: [] }))).toBe('context/not-found');
  });

  it('stop listing at maxEntries in all, across sources', async () => {
    const ctx = await openContext(dir);
    const sel = { include: ['src', 'src/a.ts'], exclude: [] };
    const full = await ctx.files(sel);
    const total = full.reduce((n, m) => n + m.entries.length, 0);
    expect(total).toBeGreaterThan(3);
    const cut = await ctx.files(sel, 3);
    expect(cut.flatMap((m) => m.entries.map((e) => e.path))).toEqual(full.flatMap((m) => m.entries.map((e) => e.path)).slice(0, 3));
    expect((await ctx.files(sel, total)).reduce((n, m) => n + m.entries.length, 0)).toBe(total);
    // countEntries counts what files() lists, up to the limit
    expect(await ctx.countEntries(sel)).toBe(total);
    expect(await ctx.countEntries(sel, 3)).toBe(3);
    expect(await ctx.countEntries({ include: ['src'], exclude: ['**/b.ts'] })).toBe(3); // src, src/a.ts, src/lib
  });

  it('apply COPY --exclude relative to each source', async () => {
    const ctx = await openContext(dir);
    const entries = (await ctx.files({ include: ['src'], exclude: ['**/b.ts'] }))[0]!.entries.map((e) => e.relPath);
    expect(entries).toEqual(['', 'a.ts', 'lib']);
    const withEx = await ctx.digestFor({ include: ['src'], exclude: ['**/b.ts'] });
    write('src/lib/b.ts', 'changed, but excluded');
    expect(await digest(['src'], {}, ['**/b.ts'])).toBe(withEx);
    expect(await digest(['src'])).not.toBe(await ctx.digestFor({ include: ['src'], exclude: [] }));
  });
});

describe('context boundaries', () => {
  it('rejects sources outside the context', async () => {
    expect(await codeOf(digest(['../etc/passwd']))).toBe('context/outside');
    expect(await codeOf(digest(['src/../../x']))).toBe('context/outside');
  });

  it('rejects symlinks that lead out of the context, absolute or relative', async () => {
    symlinkSync('/etc/passwd', join(dir, 'abs'));
    symlinkSync('../../../../../../etc', join(dir, 'src/rel'));
    expect(await codeOf(digest(['abs']))).toBe('context/symlink-escape');
    expect(await codeOf(digest(['src/rel/passwd']))).toBe('context/symlink-escape');
  });

  it('follows a source symlink that stays inside, and hashes links below a source without following them', async () => {
    symlinkSync('src/lib', join(dir, 'libs'));
    symlinkSync('/etc', join(dir, 'src/etc-link')); // inside a copied dir: copied as a link, never followed
    const viaLink = await digest(['libs']);
    write('src/lib/b.ts', 'changed through the link');
    expect(await digest(['libs'])).not.toBe(viaLink); // the link's target content is what counts
    const files = (await (await openContext(dir)).files({ include: ['libs'], exclude: [] }))[0]!;
    expect(files.entries.map((e) => e.path)).toEqual(['src/lib', 'src/lib/b.ts']);
    const src = (await (await openContext(dir)).files({ include: ['src'], exclude: [] }))[0]!;
    const link = src.entries.find((e) => e.relPath === 'etc-link')!;
    expect(link.type).toBe('symlink');
    expect(link.linkTarget).toBe('/etc');
    expect(src.entries.some((e) => e.relPath.startsWith('etc-link/'))).toBe(false);
  });

  it('detects symlink loops', async () => {
    symlinkSync('loop2', join(dir, 'loop1'));
    symlinkSync('loop1', join(dir, 'loop2'));
    expect(await codeOf(digest(['loop1']))).toBe('context/symlink-loop');
  });
});

describe('stat cache', () => {
  it('makes a no-op re-hash read no file contents, and re-reads exactly a changed file', async () => {
    const reads: string[] = [];
    const opts = { statCacheDir: statDir, racyWindowMs: 0, onRead: (p: string) => reads.push(p) };
    const c1 = await openContext(dir, opts);
    const d1 = await c1.digestFor(all);
    await c1.save();
    expect(reads.length).toBe(5);
    reads.length = 0;
    const c2 = await openContext(dir, opts);
    expect(await c2.digestFor(all)).toBe(d1);
    expect(reads).toEqual([]);
    // every directory (root, src, src/lib, docs) matched its fingerprint: no file was even looked up
    expect(c2.stats.dirCacheHits).toBe(4);
    expect(c2.stats.statCacheHits).toBe(0);
    write('src/a.ts', 'export const a = 9;\n');
    const c3 = await openContext(dir, opts);
    expect(await c3.digestFor(all)).not.toBe(d1);
    expect(reads).toEqual([join(c3.root, 'src/a.ts')]);
    // src/lib and docs still matched; src and the root were recomputed from their files' stat-cache entries
    expect(c3.stats.dirCacheHits).toBe(2);
    expect(c3.stats.statCacheHits).toBe(2); // Dockerfile and package.json
  });

  it('gives the digest a fresh hash gives after every kind of change (directory fingerprints never go stale)', async () => {
    const opts = { statCacheDir: statDir, racyWindowMs: 0 };
    const cached = async (): Promise<string> => {
      const c = await openContext(dir, opts);
      const d = await c.digestFor(all);
      await c.save();
      return d;
    };
    const fresh = async (): Promise<string> => (await openContext(dir)).digestFor(all);
    const changes: [string, () => void][] = [
      ['new content, same size, mtime restored exactly (only ctime tells)', () => {
        writeFileSync(join(dir, 'src/lib/b.ts'), 'export const b = 3;\n');
        utimesSync(join(dir, 'src/lib/b.ts'), 1_000_000, 1_000_000);
      }],
      ['chmod of a file', () => chmodSync(join(dir, 'src/a.ts'), 0o600)],
      ['chmod of a directory', () => chmodSync(join(dir, 'src/lib'), 0o700)],
      ['a new file deep down', () => write('src/lib/deep/c.ts', 'c')],
      ['a new empty directory', () => mkdirSync(join(dir, 'docs/empty'))],
      ['a rename', () => renameSync(join(dir, 'docs/readme.md'), join(dir, 'docs/README.md'))],
      ['a removal', () => rmSync(join(dir, 'package.json'))],
      ['a symlink', () => symlinkSync('a.ts', join(dir, 'src/link'))],
      ['a symlink retargeted', () => {
        unlinkSync(join(dir, 'src/link'));
        symlinkSync('lib/b.ts', join(dir, 'src/link'));
      }],
      ['a file replaced by a directory of the same name', () => {
        rmSync(join(dir, 'src/a.ts'));
        mkdirSync(join(dir, 'src/a.ts'));
      }],
      ['a .dockerignore that drops a directory', () => write('.dockerignore', 'docs\n')],
    ];
    utimesSync(join(dir, 'src/lib/b.ts'), 1_000_000, 1_000_000); // whole seconds: restored exactly below
    let before = await cached();
    expect(before).toBe(await fresh());
    for (const [what, change] of changes) {
      change();
      const now = await cached();
      expect(now, what).toBe(await fresh());
      expect(now, what).not.toBe(before);
      // and a second, no-op hash agrees from the cache alone
      expect(await cached(), what).toBe(now);
      before = now;
    }
  });

  it('re-hashes a file rewritten with the same size and a restored mtime (ctime changed)', async () => {
    const reads: string[] = [];
    const opts = { statCacheDir: statDir, racyWindowMs: 0, onRead: (p: string) => reads.push(p) };
    const target = join(dir, 'package.json');
    const before = statSync(target);
    const c1 = await openContext(dir, opts);
    const d1 = await c1.digestFor({ include: ['package.json'], exclude: [] });
    await c1.save();
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(target, '[]\n'); // same size
    utimesSync(target, before.atime, before.mtime);
    reads.length = 0;
    const c2 = await openContext(dir, opts);
    const d2 = await c2.digestFor({ include: ['package.json'], exclude: [] });
    expect(reads).toEqual([join(c2.root, 'package.json')]);
    expect(d2).not.toBe(d1);
  });

  it('does not record racily-clean files (changed within the window)', async () => {
    const reads: string[] = [];
    const opts = { statCacheDir: statDir, racyWindowMs: 60_000, onRead: (p: string) => reads.push(p) };
    const c1 = await openContext(dir, opts);
    await c1.digestFor(all);
    await c1.save();
    reads.length = 0;
    const c2 = await openContext(dir, opts);
    await c2.digestFor(all);
    expect(reads.length).toBe(5);
    expect(c2.stats.dirCacheHits).toBe(0);
  });

  it('keeps file entries it never parsed when it saves directory entries', () => {
    const c1 = StatCache.load(statDir, '/ctx');
    c1.record('a', '1/2/3/4/5', 0, 'h-a', 10_000, 0);
    c1.recordDir('', 'fp-root', 'd-root');
    c1.save();
    const c2 = StatCache.load(statDir, '/ctx');
    expect(c2.lookupDir('', 'fp-root')).toBe('d-root');
    expect(c2.lookupDir('', 'fp-other')).toBeUndefined();
    c2.recordDir('sub', 'fp-sub', 'd-sub'); // the file lines are not parsed for this
    c2.save();
    const c3 = StatCache.load(statDir, '/ctx');
    expect(c3.lookup('a', '1/2/3/4/5')).toBe('h-a');
    expect(c3.lookup('a', '1/2/3/4/6')).toBeUndefined();
    expect(c3.lookupDir('sub', 'fp-sub')).toBe('d-sub');
    expect([c3.size, c3.dirCount]).toEqual([1, 2]);
    c3.forget('sub');
    c3.save();
    expect(StatCache.load(statDir, '/ctx').dirCount).toBe(1);
  });
});
