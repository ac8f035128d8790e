/**
 * Fixtures for the fileops tests: a source root, a destination root and a sibling `outside/` directory holding
 * marker files that no operation may read (its contents never appear in a destination) or write (its listing and
 * contents never change).
 */
import { lstat, mkdir, readdir, readFile, readlink } from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'vitest';
import { isRoot, tempDir } from '../../helpers/env.ts';
import type { CopyRequest } from '../../../executor/fileops/copy.ts';

export interface Roots {
  readonly base: string;
  readonly src: string;
  readonly dest: string;
  readonly outside: string;
}

export const OUTSIDE_SECRET = 'outside-secret-do-not-copy';

export async function roots(): Promise<Roots> {
  if (!isRoot()) throw new Error('the fileops tests chown files and must run as root (they fail rather than skip)');
  const base = await tempDir('tsbuild-fileops-');
  const r = { base, src: path.join(base, 'src'), dest: path.join(base, 'dest'), outside: path.join(base, 'outside') };
  await mkdir(r.src);
  await mkdir(r.dest);
  await mkdir(r.outside);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(path.join(r.outside, 'marker'), OUTSIDE_SECRET);
  return r;
}

export function req(r: Roots, sources: string[], dest: string, extra: Partial<CopyRequest> = {}): CopyRequest {
  return { srcRoot: r.src, destRoot: r.dest, sources, dest, parents: false, exclude: [], link: false, add: false, ...extra };
}

/** A listing of a tree: `path -> kind[:content|target]`, sorted, for whole-tree assertions. */
export async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string): Promise<void> {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(p);
      if (st.isDirectory()) {
        out[r + '/'] = 'dir';
        await walk(p, r);
      } else if (st.isSymbolicLink()) out[r] = `-> ${await readlink(p)}`;
      else out[r] = await readFile(p, 'utf8');
    }
  }
  await walk(dir, '');
  return out;
}

/** Asserts the outside dir is untouched and that no file under `dest` holds its secret. */
export async function assertContained(r: Roots): Promise<void> {
  expect(await tree(r.outside)).toEqual({ marker: OUTSIDE_SECRET });
  const t = await tree(r.dest);
  for (const [p, v] of Object.entries(t)) expect(v, p).not.toContain(OUTSIDE_SECRET);
  // And nothing was created next to the roots.
  expect((await readdir(r.base)).sort()).toEqual(['dest', 'outside', 'src']);
}
