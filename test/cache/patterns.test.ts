import { describe, expect, it } from 'vitest';
import { PatternMatcher, parseIgnoreFile, matchSegment, goPathMatch, cleanPath } from '../../cache/context/patterns.ts';
import { TsbuildError } from '../../util/errors.ts';

const excluded = (patterns: string[], path: string): boolean => new PatternMatcher(patterns).matches(path);

describe('parseIgnoreFile (moby ignorefile.ReadAll)', () => {
  it('strips the BOM, drops # comments in column 1, trims, removes a leading /, cleans, skips blanks and "."', () => {
    const text = '\uFEFF# comment\n  node_modules  \n/abs/path\n./x/../y\n\n.\n!keep.me\n! spaced\n  # not a comment\n';
    expect(parseIgnoreFile(text)).toEqual(['node_modules', 'abs/path', 'y', '!keep.me', '!spaced', '# not a comment']);
  });
  it('handles CRLF line endings', () => {
    expect(parseIgnoreFile('a\r\nb\r\n')).toEqual(['a', 'b']);
  });
});

describe('PatternMatcher (moby patternmatcher)', () => {
  const cases: Array<[string[], string, boolean]> = [
    // plain names match only at the root
    [['abc'], 'abc', true],
    [['abc'], 'dir/abc', false],
    // a pattern matching a parent excludes everything under it
    [['abc'], 'abc/def/ghi', true],
    [['dir/*'], 'dir/a/b/c', true],
    // * and ? never cross /
    [['*.go'], 'main.go', true],
    [['*.go'], 'pkg/main.go', false],
    [['?.txt'], 'a.txt', true],
    [['?.txt'], 'ab.txt', false],
    [['*/temp*'], 'somedir/temporary.txt', true],
    [['*/*/temp*'], 'somedir/subdir/temporary.txt', true],
    [['temp?'], 'tempa', true],
    // ** matches any number of directories, including none
    [['**/*.go'], 'main.go', true],
    [['**/*.go'], 'a/b/c/main.go', true],
    [['**/node_modules'], 'x/y/node_modules/pkg/index.js', true],
    [['a/**/b'], 'a/b', true],
    [['a/**/b'], 'a/x/y/b', true],
    [['a/**'], 'a/x/y', true],
    [['**'], 'anything/at/all', true],
    // exceptions, last match wins
    [['*.md', '!README.md'], 'README.md', false],
    [['*.md', '!README.md'], 'CHANGES.md', true],
    [['*.md', '!README.md', 'README.md'], 'README.md', true],
    [['docs', '!docs/keep.txt'], 'docs/keep.txt', false],
    [['docs', '!docs/keep.txt'], 'docs/other.txt', true],
    // character classes and escapes
    [['file[0-9]'], 'file7', true],
    [['file[0-9]'], 'filex', false],
    [['file[^0-9]'], 'filex', true],
    [['a\\*b'], 'a*b', true],
    [['a\\*b'], 'axb', false],
    // regexp metacharacters are literal
    [['a.b'], 'axb', false],
    [['a+b(c)'], 'a+b(c)', true],
    // patterns are cleaned
    [['./a/../b'], 'b', true],
    [['/rooted'], 'rooted', true],
  ];
  for (const [patterns, path, want] of cases) {
    it(`${JSON.stringify(patterns)} ${want ? 'excludes' : 'keeps'} ${path}`, () => {
      expect(excluded(patterns, path)).toBe(want);
    });
  }
  it('reports whether it has exceptions', () => {
    expect(new PatternMatcher(['a']).hasExclusions).toBe(false);
    expect(new PatternMatcher(['a', '!a/b']).hasExclusions).toBe(true);
  });
  it('rejects a lone "!" and malformed classes with a TsbuildError', () => {
    expect(() => new PatternMatcher(['!'])).toThrow(TsbuildError);
    expect(() => new PatternMatcher(['[abc'])).toThrow(/unterminated character class/);
  });
});

describe('Go path.Match for COPY sources', () => {
  it('matches per segment', () => {
    expect(matchSegment('*.json', 'package.json')).toBe(true);
    expect(matchSegment('*.json', 'package.jsonx')).toBe(false);
    expect(matchSegment('[a-c]?', 'bz')).toBe(true);
    expect(matchSegment('\\[x]', '[x]')).toBe(true);
    expect(goPathMatch('src/*/index.ts', 'src/a/index.ts')).toBe(true);
    expect(goPathMatch('src/*', 'src/a/index.ts')).toBe(false);
  });
  it('cleanPath follows Go path.Clean', () => {
    expect(cleanPath('a/./b/../c/')).toBe('a/c');
    expect(cleanPath('../x')).toBe('../x');
    expect(cleanPath('/../x')).toBe('/x');
    expect(cleanPath('')).toBe('.');
    expect(cleanPath('./')).toBe('.');
  });
});
