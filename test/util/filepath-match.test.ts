import { describe, expect, it } from 'vitest';
import {
  compilePathPattern,
  containsWildcards,
  couldMatchBelow,
  hasMeta,
  match,
  matchPathOrParent,
  matchPathPattern,
  matchResult,
} from '../../util/filepath-match.ts';
import { TsbuildError } from '../../util/errors.ts';

// Go's path/filepath match_test.go table (Go >= 1.16, Unix). `bad` = ErrBadPattern.
const goTable: [pattern: string, name: string, expected: boolean | 'bad'][] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', 'bad'],
  ['[-]', '-', 'bad'],
  ['[x-]', 'x', 'bad'],
  ['[x-]', '-', 'bad'],
  ['[x-]', 'z', 'bad'],
  ['[-x]', 'x', 'bad'],
  ['[-x]', '-', 'bad'],
  ['[-x]', 'a', 'bad'],
  ['\\', 'a', 'bad'],
  ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'],
  ['[^', 'a', 'bad'],
  ['[^bc', 'a', 'bad'],
  ['a[', 'a', 'bad'],
  ['a[', 'ab', 'bad'],
  ['a[', 'x', 'bad'],
  ['a/b[', 'x', 'bad'],
  ['*x', 'xxx', true],
];

describe('match (Go filepath.Match)', () => {
  it.each(goTable)('Match(%j, %j) = %j', (pattern, name, expected) => {
    expect(matchResult(pattern, name)).toBe(expected);
    if (expected === 'bad') {
      expect(() => match(pattern, name)).toThrow(TsbuildError);
      try {
        match(pattern, name);
      } catch (e) {
        expect((e as TsbuildError).code).toBe('filepath/bad-pattern');
      }
    } else {
      expect(match(pattern, name)).toBe(expected);
    }
  });

  it('matches Dockerfile-style source names', () => {
    expect(match('*.txt', 'notes.txt')).toBe(true);
    expect(match('*.txt', 'dir/notes.txt')).toBe(false);
    expect(match('file?.go', 'file1.go')).toBe(true);
    expect(match('file[0-9].go', 'fileA.go')).toBe(false);
    expect(match('', '')).toBe(true);
    expect(match('', 'a')).toBe(false);
  });
});

describe('hasMeta / containsWildcards', () => {
  it.each([
    ['abc', false, false],
    ['a*c', true, true],
    ['a?c', true, true],
    ['a[b]c', true, true],
    ['a\\*c', true, false],
    ['dir/file.txt', false, false],
  ])('%j: hasMeta %j, containsWildcards %j', (p, meta, wild) => {
    expect(hasMeta(p)).toBe(meta);
    expect(containsWildcards(p)).toBe(wild);
  });
});

describe('path patterns with ** (--exclude, --parents)', () => {
  const table: [pattern: string, path: string, whole: boolean, orParent: boolean][] = [
    ['*.txt', 'a.txt', true, true],
    ['*.txt', 'dir/a.txt', false, false],
    ['**/*.txt', 'a.txt', true, true],
    ['**/*.txt', 'dir/sub/a.txt', true, true],
    ['dir/**', 'dir/a/b', true, true],
    ['dir/**', 'dir', false, false],
    ['dir', 'dir/a/b', false, true],
    ['a/**/b', 'a/b', true, true],
    ['a/**/b', 'a/x/y/b', true, true],
    ['a/**/b', 'a/x/y/c', false, false],
    ['a/**/b', 'a/x/b/c', false, true],
    ['./src/*.go', 'src/main.go', true, true],
  ];
  it.each(table)('%j vs %j', (pattern, p, whole, orParent) => {
    const c = compilePathPattern(pattern);
    expect(matchPathPattern(c, p)).toBe(whole);
    expect(matchPathOrParent(c, p)).toBe(orParent);
  });

  it('prunes directories that cannot contain a match', () => {
    const c = compilePathPattern('src/*/main.go');
    expect(couldMatchBelow(c, 'src')).toBe(true);
    expect(couldMatchBelow(c, 'src/cmd')).toBe(true);
    expect(couldMatchBelow(c, 'docs')).toBe(false);
    expect(couldMatchBelow(compilePathPattern('**/x'), 'any/depth')).toBe(true);
  });

  it('rejects a malformed component', () => {
    expect(() => compilePathPattern('dir/[a-')).toThrow(/syntax error in pattern/);
  });
});
