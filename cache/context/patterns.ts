/**
 * Pattern matching for the build context, ported from moby/patternmatcher (what BuildKit uses for .dockerignore
 * and COPY --exclude) and Go's path.Match (what COPY sources use).
 *
 * Paths are relative to the context root, `/`-separated, already clean (no `.`/`..` components, no leading `/`).
 */
import { TsbuildError } from '../../util/errors.ts';

/** Go's path.Clean on a `/`-separated path. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const s = out.join('/');
  return rooted ? `/${s}` : s === '' ? '.' : s;
}

const escapeRe = (ch: string): string => (/[.+()|{}$^]/.test(ch) ? `\\${ch}` : ch);

/**
 * Translates a Go glob character class starting at `i` (just after `[`) into a JS regex class; returns the class
 * source and the index after `]`. Go accepts `[^...]` for negation; `\` escapes; a class never matches `/`.
 */
function translateClass(p: string, i: number, original: string): [string, number] {
  let out = '[';
  if (p[i] === '^') {
    out += '^/';
    i++;
  }
  let first = true;
  for (; i < p.length; i++) {
    const ch = p[i]!;
    if (ch === ']' && !first) return [`${out}]`, i + 1];
    first = false;
    if (ch === '\\') {
      i++;
      if (i >= p.length) break;
      out += `\\${p[i]}`;
    } else if (ch === '[' || ch === '^' || ch === '/') out += `\\${ch}`;
    else if (ch === ']') out += '\\]';
    else out += ch;
  }
  throw new TsbuildError('context/bad-pattern', `syntax error in pattern "${original}": unterminated character class`);
}

/**
 * Compiles one moby patternmatcher pattern (already cleaned, without `!`) to a RegExp: `*` and `?` never cross
 * `/`; `**` matches any number of path components (`**` at the end: everything; `**‍/` elsewhere: zero or more
 * directories); `\` escapes the next character.
 */
export function compileIgnorePattern(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const [cls, next] = translateClass(pattern, i + 1, pattern);
      re += cls;
      i = next - 1;
    } else if (ch === '\\') {
      i++;
      re += i < pattern.length ? `\\${pattern[i]}` : '\\\\';
    } else re += escapeRe(ch);
  }
  return new RegExp(`${re}$`, 's');
}

interface CompiledPattern {
  readonly exclusion: boolean;
  readonly re: RegExp;
  readonly text: string;
}

/**
 * moby/patternmatcher's PatternMatcher: ordered patterns, `!` marks exceptions, the last matching pattern decides,
 * and a pattern that matches a parent directory matches everything under it.
 */
export class PatternMatcher {
  readonly #patterns: CompiledPattern[];
  /** True if any pattern is an exception (`!`): excluded directories must then still be walked. */
  readonly hasExclusions: boolean;

  constructor(patterns: readonly string[]) {
    this.#patterns = [];
    let exc = false;
    for (let p of patterns) {
      p = p.trim();
      if (p === '') continue;
      let exclusion = false;
      if (p.startsWith('!')) {
        exclusion = true;
        p = p.slice(1).trim();
        if (p === '') throw new TsbuildError('context/bad-pattern', 'illegal exclusion pattern: "!"');
        exc = true;
      }
      p = cleanPath(p);
      if (p.startsWith('/') && p.length > 1) p = p.slice(1);
      this.#patterns.push({ exclusion, re: compileIgnorePattern(p), text: p });
    }
    this.hasExclusions = exc;
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** MatchesOrParentMatches: true if `path` (clean, relative) is excluded. */
  matches(path: string): boolean {
    if (this.#patterns.length === 0) return false;
    let matched = false;
    const slash = path.lastIndexOf('/');
    const parents = slash < 0 ? [] : path.slice(0, slash).split('/');
    for (const pat of this.#patterns) {
      // An inclusion cannot change an already-matched path; an exclusion cannot change an unmatched one.
      if (pat.exclusion !== matched) continue;
      let m = pat.re.test(path);
      if (!m && parents.length > 0) {
        let prefix = '';
        for (const part of parents) {
          prefix = prefix === '' ? part : `${prefix}/${part}`;
          if (pat.re.test(prefix)) {
            m = true;
            break;
          }
        }
      }
      if (m) matched = !pat.exclusion;
    }
    return matched;
  }
}

/**
 * Reads a .dockerignore body as moby/patternmatcher/ignorefile.ReadAll does: UTF-8 BOM stripped from the first
 * line, lines starting with `#` dropped before trimming, whitespace trimmed, blank lines skipped, patterns cleaned,
 * a leading `/` removed, `!` kept in front.
 */
export function parseIgnoreFile(text: string): string[] {
  const out: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const raw of lines) {
    if (raw.startsWith('#')) continue;
    let p = raw.trim();
    if (p === '') continue;
    const invert = p.startsWith('!');
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p.startsWith('/')) p = p.slice(1);
    }
    // A bare "." would exclude nothing in moby (the walker never asks about "."); drop it rather than exclude the root.
    if (p === '.') continue;
    out.push(invert ? `!${p}` : p);
  }
  return out;
}

/** True if `s` contains Go glob metacharacters. */
export function hasWildcard(s: string): boolean {
  return /[*?[\\]/.test(s);
}

const segmentCache = new Map<string, RegExp>();

/**
 * Go path.Match for one path segment (no `/` inside): `*` any run, `?` one char, `[...]` classes, `\` escape.
 * Throws `context/bad-pattern` on malformed classes.
 */
export function matchSegment(pattern: string, name: string): boolean {
  let re = segmentCache.get(pattern);
  if (!re) {
    let src = '^';
    for (let i = 0; i < pattern.length; i++) {
      const ch = pattern[i]!;
      if (ch === '*') src += '[^/]*';
      else if (ch === '?') src += '[^/]';
      else if (ch === '[') {
        const [cls, next] = translateClass(pattern, i + 1, pattern);
        src += cls;
        i = next - 1;
      } else if (ch === '\\') {
        i++;
        if (i >= pattern.length) throw new TsbuildError('context/bad-pattern', `syntax error in pattern "${pattern}": trailing backslash`);
        src += `\\${pattern[i]}`;
      } else src += escapeRe(ch);
    }
    re = new RegExp(`${src}$`, 's');
    segmentCache.set(pattern, re);
  }
  return re.test(name);
}

/** Go path.Match on whole `/`-separated paths (segment count must agree). */
export function goPathMatch(pattern: string, path: string): boolean {
  const ps = pattern.split('/');
  const xs = path.split('/');
  if (ps.length !== xs.length) return false;
  return ps.every((p, i) => matchSegment(p, xs[i]!));
}
