/**
 * The glob NFA against an oracle built the way upstream builds its Go regexp (`.*?`/`.*` per star, `.` per `?`,
 * metacharacters escaped), run on V8's backtracking engine, which shares RE2's leftmost-first priority. Small
 * inputs only: the oracle is the slow one.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileGlob,
  InvalidPatternError,
  replaceAll,
  replaceFirst,
  reversePattern,
  trimPrefix,
  trimSuffix,
} from '../../../compiler/shell/pattern.ts';

const REGEX_SPECIAL = new Set(['[', ']', '{', '}', '.', '+', '(', ')', '|', '^', '$']);

function oracleRegExp(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  const runes = Array.from(pattern);
  if (runes[0] === '\ufeff') runes.shift();
  let out = anchored ? '^' : '';
  for (let i = 0; i < runes.length; i++) {
    const tok = runes[i]!;
    if (tok === '*') out += greedy ? '[^\\n]*' : '[^\\n]*?';
    else if (tok === '?') out += '[^\\n]';
    else if (tok === '\\') {
      const next = runes[i + 1];
      if (next === '}' || next === '/') continue;
      i++;
      if (next !== '*' && next !== '?' && next !== '\\') throw new Error('invalid escape');
      out += '\\' + next;
    } else out += REGEX_SPECIAL.has(tok) ? '\\' + tok : tok;
  }
  return new RegExp(out, global ? 'gu' : 'u');
}

const oracle = {
  trimPrefix(p: string, v: string, greedy: boolean): string {
    const m = oracleRegExp(p, greedy, true).exec(v);
    return m === null ? v : v.slice(m[0].length);
  },
  trimSuffix(p: string, v: string, greedy: boolean): string {
    const rev = (s: string) => Array.from(s).reverse().join('');
    return rev(oracle.trimPrefix(reversePattern(p), rev(v), greedy));
  },
  replaceFirst(p: string, v: string, r: string): string {
    const m = oracleRegExp(p, true, false).exec(v);
    return m === null ? v : v.slice(0, m.index) + r + v.slice(m.index + m[0].length);
  },
  /** Go's ReplaceAllString loop over a global RegExp (replacement without `$`, so no template). */
  replaceAll(p: string, v: string, r: string): string {
    const re = oracleRegExp(p, true, false, true);
    let out = '';
    let last = 0;
    let pos = 0;
    while (pos <= v.length) {
      re.lastIndex = pos;
      const m = re.exec(v);
      if (m === null) break;
      const a = m.index;
      const b = a + m[0].length;
      out += v.slice(last, a);
      if (b > last || a === 0) out += r;
      last = b;
      const width = pos < v.length ? (v.codePointAt(pos)! > 0xffff ? 2 : 1) : 0;
      if (pos + width > b) pos += width;
      else if (pos + 1 > b) pos++;
      else pos = b;
    }
    return out + v.slice(last);
  },
};

const patternArb = fc.array(fc.constantFrom('a', 'b', '*', '?', '\\', '\n', '😀', '.', '}'), { maxLength: 7 }).map((a) => a.join(''));
const valueArb = fc.array(fc.constantFrom('a', 'b', 'a', 'b', '\n', '*', '?', '😀', '.'), { maxLength: 12 }).map((a) => a.join(''));

/** Run both; they must agree on the result or both reject the pattern. */
function agree(f: () => string, g: () => string): void {
  let expected: string | undefined;
  try {
    expected = g();
  } catch {
    expect(f).toThrow(InvalidPatternError);
    return;
  }
  expect(f()).toBe(expected);
}

describe('glob matcher vs Go-style regexp oracle', () => {
  it('trimPrefix / trimSuffix, lazy and greedy', () => {
    fc.assert(
      fc.property(patternArb, valueArb, fc.boolean(), (p, v, greedy) => {
        agree(() => trimPrefix(p, v, greedy), () => oracle.trimPrefix(p, v, greedy));
        agree(() => trimSuffix(p, v, greedy), () => oracle.trimSuffix(p, v, greedy));
      }),
      { numRuns: 5000 },
    );
  });

  it('replaceFirst / replaceAll', () => {
    fc.assert(
      fc.property(patternArb, valueArb, fc.constantFrom('', 'X', '<>'), (p, v, r) => {
        agree(() => replaceFirst(p, v, r), () => oracle.replaceFirst(p, v, r));
        agree(() => replaceAll(p, v, r), () => oracle.replaceAll(p, v, r));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('glob compiler', () => {
  it('reads escapes and drops a leading BOM', () => {
    expect(compileGlob('\ufeffa\\*\\?\\\\\\}\\/?*')).toEqual([
      { kind: 'lit', ch: 'a' },
      { kind: 'lit', ch: '*' },
      { kind: 'lit', ch: '?' },
      { kind: 'lit', ch: '\\' },
      { kind: 'lit', ch: '}' },
      { kind: 'lit', ch: '/' },
      { kind: 'any' },
      { kind: 'star' },
    ]);
    expect(() => compileGlob('\\a')).toThrow("invalid escape '\\a'");
  });

  it('reverses patterns keeping escape pairs', () => {
    expect(reversePattern('a\\*c')).toBe('c\\*a');
    expect(reversePattern('ab\\')).toBe('\\ba');
  });

  it('stays fast on adversarial stars (RE2-like, no backtracking blow-up)', () => {
    const v = 'a'.repeat(5000);
    const t0 = performance.now();
    expect(trimPrefix('*a*a*a*a*a*b', v, false)).toBe(v);
    expect(trimSuffix('*a*a*a*a*a*b', v, true)).toBe(v);
    expect(replaceAll('*a*a*a*b', v, 'x')).toBe(v);
    expect(replaceAll('a', v, '')).toBe('');
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
