/**
 * Go's `path/filepath.Match` (Unix flavour), ported exactly, plus the `**`-aware matcher that BuildKit uses for
 * `COPY --exclude` and `COPY --parents` (moby/patternmatcher semantics, applied per path component).
 *
 * Why a port and not a regex: Dockerfile wildcards must behave byte-for-byte like Docker's, including the odd
 * corners (`[]a]` is a syntax error, `\` escapes inside classes, `*` never crosses `/`, a bad pattern that fails to
 * match early is still reported as bad). Go works on UTF-8 bytes and decodes runes only for `?` and classes; we work
 * on code points, which is equivalent because UTF-8 is prefix-free.
 */
import { TsbuildError } from './errors.ts';

/** Thrown (as a TsbuildError with code `filepath/bad-pattern`) where Go returns `filepath.ErrBadPattern`. */
export const BAD_PATTERN_CODE = 'filepath/bad-pattern';

function badPattern(pattern: string): TsbuildError {
  return new TsbuildError(BAD_PATTERN_CODE, `syntax error in pattern: ${JSON.stringify(pattern)}`);
}

/** True when `pattern` contains any of the magic characters `*`, `?`, `[` or `\` (Go's internal hasMeta). */
export function hasMeta(pattern: string): boolean {
  return /[*?[\\]/.test(pattern);
}

/**
 * True when `name` contains an unescaped wildcard (`*`, `?`, `[`): BuildKit's `containsWildcards`, which decides
 * whether a COPY source is resolved by matching. Unlike `hasMeta`, a lone escaped character is not a wildcard.
 */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}

/**
 * Reports whether `name` matches the shell pattern `pattern`, with Go's exact semantics:
 * `*` any run of non-`/` characters, `?` one non-`/` character, `[...]`/`[^...]` classes with ranges, `\` escapes.
 * The whole name must match. Throws a TsbuildError (`filepath/bad-pattern`) where Go returns ErrBadPattern.
 */
export function match(pattern: string, name: string): boolean {
  const r = matchResult(pattern, name);
  if (r === 'bad') throw badPattern(pattern);
  return r;
}

/** Like `match`, but returns `'bad'` instead of throwing (for callers that ignore bad patterns, as BuildKit does). */
export function matchResult(pattern: string, name: string): boolean | 'bad' {
  let p = Array.from(pattern);
  let n = Array.from(name);
  patternLoop: while (p.length > 0) {
    const sc = scanChunk(p);
    const star = sc.star;
    const chunk = sc.chunk;
    p = sc.rest;
    if (star && chunk.length === 0) {
      // A trailing * matches the rest of the name unless it holds a separator.
      return !n.includes('/');
    }
    const first = matchChunk(chunk, n);
    // The last chunk must consume the whole name, otherwise a star may still get it to match.
    if (first !== 'bad' && first !== null && (first.length === 0 || p.length > 0)) {
      n = first;
      continue;
    }
    if (first === 'bad') return 'bad';
    if (star) {
      // Retry after skipping i+1 characters; a star never skips a separator.
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t = matchChunk(chunk, n.slice(i + 1));
        if (t === 'bad') return 'bad';
        if (t !== null) {
          if (p.length === 0 && t.length > 0) continue;
          n = t;
          continue patternLoop;
        }
      }
    }
    // Before answering "no", make sure the rest of the pattern is well-formed (Go >= 1.16 behaviour).
    while (p.length > 0) {
      const s2 = scanChunk(p);
      p = s2.rest;
      if (matchChunk(s2.chunk, []) === 'bad') return 'bad';
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let star = false;
  let start = 0;
  while (start < pattern.length && pattern[start] === '*') {
    start++;
    star = true;
  }
  let inRange = false;
  let i = start;
  scan: for (; i < pattern.length; i++) {
    switch (pattern[i]) {
      case '\\':
        // The error for a trailing backslash is reported by matchChunk.
        if (i + 1 < pattern.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: pattern.slice(start, i), rest: pattern.slice(i) };
}

/**
 * Matches one chunk (no `*`) at the start of `s`: the remaining name on success, null on mismatch, 'bad' on a
 * malformed chunk. After a mismatch it keeps scanning the chunk so that syntax errors are still reported.
 */
function matchChunk(chunkIn: string[], sIn: string[]): string[] | null | 'bad' {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0]!;
    if (c === '[') {
      let r = -1;
      if (!failed) {
        r = s[0]!.codePointAt(0)!;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        if (lo === 'bad') return 'bad';
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          if (h === 'bad') return 'bad';
          chunk = h.rest;
          hi = h.r;
        }
        if (lo.r <= r && r <= hi) matched = true;
        nrange++;
      }
      if (matched === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    } else {
      let lit = c;
      if (c === '\\') {
        chunk = chunk.slice(1);
        if (chunk.length === 0) return 'bad';
        lit = chunk[0]!;
      }
      if (!failed) {
        if (lit !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

function getEsc(chunkIn: string[]): { r: number; rest: string[] } | 'bad' {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') return 'bad';
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) return 'bad';
  }
  const r = chunk[0]!.codePointAt(0)!;
  const rest = chunk.slice(1);
  // A class must be closed: running out of pattern here is a syntax error.
  if (rest.length === 0) return 'bad';
  return { r, rest };
}

/**
 * A compiled `**`-aware path pattern (moby/patternmatcher semantics, per component): a `**` component matches any
 * number of path components (zero or more in the middle, one or more at the end, because patternmatcher turns a
 * trailing `/**` into `/.*`), every other component is a Go `filepath.Match` pattern. Paths are relative, `/`
 * separated, already cleaned; the pattern is cleaned (leading `/` and `./` removed) when compiled.
 */
export interface PathPattern {
  readonly source: string;
  readonly parts: readonly string[];
}

/** Compiles a pattern; throws TsbuildError `filepath/bad-pattern` when a component is malformed. */
export function compilePathPattern(pattern: string): PathPattern {
  const parts = pattern
    .split('/')
    .filter((c) => c !== '' && c !== '.');
  for (const part of parts) {
    if (part !== '**' && matchResult(part, '') === 'bad') throw badPattern(pattern);
  }
  return { source: pattern, parts };
}

/** True when the whole relative path `rel` matches the pattern. */
export function matchPathPattern(p: PathPattern, rel: string): boolean {
  const comps = rel.split('/').filter((c) => c !== '' && c !== '.');
  return matchParts(p.parts, 0, comps, 0, false);
}

/** True when `rel` or one of its parent directories matches (a matching directory covers its whole subtree). */
export function matchPathOrParent(p: PathPattern, rel: string): boolean {
  const comps = rel.split('/').filter((c) => c !== '' && c !== '.');
  for (let k = 1; k <= comps.length; k++) {
    if (matchParts(p.parts, 0, comps.slice(0, k), 0, false)) return true;
  }
  return false;
}

/**
 * True when some path below directory `rel` could still match: used to prune a walk (`--parents`) without
 * descending into directories that cannot contain a match.
 */
export function couldMatchBelow(p: PathPattern, rel: string): boolean {
  const comps = rel.split('/').filter((c) => c !== '' && c !== '.');
  return matchParts(p.parts, 0, comps, 0, true);
}

function matchParts(parts: readonly string[], pi: number, comps: readonly string[], ci: number, prefix: boolean): boolean {
  if (ci === comps.length) {
    // Prefix mode: the path ran out first, so something deeper may still match if any pattern is left.
    if (prefix) return pi < parts.length;
    // Only `**` components may remain; a trailing `**` needs at least one component, except as the whole pattern.
    return pi === parts.length;
  }
  if (pi === parts.length) return false;
  const part = parts[pi]!;
  if (part === '**') {
    const isLast = pi === parts.length - 1;
    if (isLast) return true; // one or more components remain: `x/**` matches all of them
    // Zero components, or consume one and stay on `**`.
    return matchParts(parts, pi + 1, comps, ci, prefix) || matchParts(parts, pi, comps, ci + 1, prefix);
  }
  if (matchResult(part, comps[ci]!) !== true) return false;
  return matchParts(parts, pi + 1, comps, ci + 1, prefix);
}
