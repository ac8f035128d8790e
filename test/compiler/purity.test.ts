/** grammar/ and compiler/ must stay pure: no file, process or network modules in their imports. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.ts';

const FORBIDDEN = /^(?:node:)?(?:fs|fs\/promises|child_process|net|http|https|http2|dgram|tls|undici)(?:\/.*)?$/;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every module specifier in static imports, re-exports and dynamic imports. */
function specifiers(src: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;
  for (const m of src.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

describe('pure folders', () => {
  it('the import scanner sees imports (sanity check on a known file)', () => {
    expect(specifiers("import { a } from 'node:fs';\nexport * from \"./x.ts\";\nawait import('undici');")).toEqual(['node:fs', './x.ts', 'undici']);
    expect(FORBIDDEN.test('node:fs/promises')).toBe(true);
    expect(FORBIDDEN.test('node:crypto')).toBe(false);
  });
  for (const folder of ['grammar', 'compiler']) {
    it(`${folder}/ imports no fs, child_process, net, http or undici`, () => {
      const found = tsFiles(path.join(repoRoot, folder)).flatMap((f) =>
        specifiers(readFileSync(f, 'utf8')).filter((s) => FORBIDDEN.test(s)).map((s) => `${path.relative(repoRoot, f)}: ${s}`),
      );
      expect(found).toEqual([]);
    });
  }
});
