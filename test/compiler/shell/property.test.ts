/** fast-check properties of word expansion. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { processWord, processWords, ShellExpansionError, type ShellLexOptions } from '../../../compiler/shell/index.ts';

const env = new Map([
  ['A', 'a'],
  ['B', 'b c'],
  ['E', ''],
  ['S', '*?\\'],
  ['pwd', '/x'],
]);

// Dense in the characters the lexer reacts to, with some non-ASCII and astral ones.
const shellChar = fc.constantFrom(
  ...'${}:-+?#%/\\`\'"* \tAaBbEeS0123_@!.=é😀\n\ufeff'.split(/(?:)/u),
);
const shellText = fc.array(shellChar, { maxLength: 40 }).map((cs) => cs.join(''));
const options: fc.Arbitrary<ShellLexOptions> = fc.record(
  {
    escape: fc.constantFrom('\\' as const, '`' as const),
    rawQuotes: fc.boolean(),
    rawEscapes: fc.boolean(),
    skipUnsetEnv: fc.boolean(),
    skipProcessQuotes: fc.boolean(),
    caseInsensitiveEnv: fc.boolean(),
  },
  { requiredKeys: [] },
);

const WS = /\p{White_Space}+/u;

describe('properties', () => {
  it('processWord and processWords only ever throw ShellExpansionError', () => {
    fc.assert(
      fc.property(shellText, options, (w, o) => {
        for (const f of [processWord, processWords]) {
          try {
            f(w, env, o);
          } catch (e) {
            if (!(e instanceof ShellExpansionError)) throw e;
            expect(e.offset).toBeGreaterThanOrEqual(0);
            expect(e.offset).toBeLessThanOrEqual(w.length);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a word without $, quotes or the escape token expands to itself and splits on whitespace', () => {
    const plain = fc
      .string({ unit: 'grapheme', maxLength: 40 })
      .filter((s) => !/[$'"\\]/.test(s) && !s.startsWith('\ufeff'));
    fc.assert(
      fc.property(plain, options, (w, o) => {
        const opts = { ...o, escape: '\\' as const };
        expect(processWord(w, env, opts).value).toBe(w);
        expect(processWords(w, env, opts).words).toEqual(w.split(WS).filter((x) => x !== ''));
        const r = processWord(w, env, opts);
        expect(r.matched.size + r.unmatched.size).toBe(0);
      }),
    );
  });

  it('escaping every character yields the text literally, as one word', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        const escaped = Array.from(s, (c) => '\\' + c).join('');
        expect(processWord(escaped, env).value).toBe(s);
        expect(processWords(escaped, env).words).toEqual(s === '' ? [] : [s]);
      }),
    );
  });

  it('single quotes keep any text without a single quote literally', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes("'")),
        (s) => {
          expect(processWord(`'${s}'`, env).value).toBe(s);
          expect(processWord(`'${s}'`, env, { rawQuotes: true }).value).toBe(`'${s}'`);
        },
      ),
    );
  });

  it('${V} and $V agree with the environment, and ${V:-d} falls back exactly when V is unset or empty', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
    const value = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(name, fc.option(value), fc.stringMatching(/^[a-z]{0,5}$/), (n, v, d) => {
        const e = v === null ? new Map<string, string>() : new Map([[n, v]]);
        expect(processWord(`\${${n}}`, e).value).toBe(v ?? '');
        expect(processWord(`"$${n}"`, e).value).toBe(v ?? '');
        expect(processWord(`\${${n}:-${d}}`, e).value).toBe(v === null || v === '' ? d : v);
        expect(processWord(`\${${n}-${d}}`, e).value).toBe(v ?? d);
        const r = processWord(`$${n}`, e);
        expect([...(v === null ? r.unmatched : r.matched)]).toEqual([n]);
      }),
    );
  });
});
