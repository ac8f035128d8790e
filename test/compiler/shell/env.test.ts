/** ENV/LABEL/ARG helpers: K=V lists and BuildKit's expansion of key-value pairs. */
import { describe, expect, it } from 'vitest';
import {
  envListToMap,
  envMapToList,
  expandKeyValuePairs,
  processWord,
  ShellExpansionError,
} from '../../../compiler/shell/index.ts';

describe('envListToMap / envMapToList', () => {
  it('splits at the first =, lets the last entry win and treats a bare name as set-but-empty', () => {
    const m = envListToMap(['A=1', 'B=x=y', 'C', 'A=2', 'D=']);
    expect([...m]).toEqual([
      ['B', 'x=y'],
      ['C', ''],
      ['A', '2'],
      ['D', ''],
    ]);
    expect(envMapToList(m)).toEqual(['B=x=y', 'C=', 'A=2', 'D=']);
  });

  it('keeps write order so a Windows fold picks the last case variant', () => {
    const m = envListToMap(['Path=1', 'PATH=2', 'Path=3']);
    expect(processWord('$PATH', m, { caseInsensitiveEnv: true }).value).toBe('3');
  });

  it('keeps trailing spaces in values', () => {
    expect(envListToMap(['t=ab c   ']).get('t')).toBe('ab c   ');
  });
});

describe('expandKeyValuePairs', () => {
  const env = new Map([
    ['abc', 'hi'],
    ['HOME', '/root'],
  ]);

  it('removes the quotes the parser keeps and expands keys and values', () => {
    const r = expandKeyValuePairs(
      [
        { key: 'name', value: '"a b"' },
        { key: 'esc', value: '"a\\"b"' },
        { key: 'sq', value: "'$HOME'" },
        { key: 'p', value: '$HOME/bin' },
        { key: '${abc}_key', value: 'v' },
        { key: 'legacy', value: 'two  words' },
      ],
      env,
    );
    expect(r.pairs).toEqual([
      { key: 'name', value: 'a b' },
      { key: 'esc', value: 'a"b' },
      { key: 'sq', value: '$HOME' },
      { key: 'p', value: '/root/bin' },
      { key: 'hi_key', value: 'v' },
      { key: 'legacy', value: 'two  words' },
    ]);
    expect([...r.matched].sort()).toEqual(['HOME', 'abc']);
    expect(r.unmatched.size).toBe(0);
  });

  it('gives every pair of one instruction the environment from before it (ENV abc=bye def=$abc)', () => {
    const r = expandKeyValuePairs(
      [
        { key: 'abc', value: 'bye' },
        { key: 'def', value: '$abc' },
      ],
      env,
    );
    expect(r.pairs).toEqual([
      { key: 'abc', value: 'bye' },
      { key: 'def', value: 'hi' },
    ]);
  });

  it('leaves an ARG without a default undefined and records unset references', () => {
    const r = expandKeyValuePairs<string | undefined>(
      [
        { key: 'VERSION', value: undefined },
        { key: 'URL', value: 'https://x/${VERSION:-latest}' },
      ],
      env,
    );
    expect(r.pairs).toEqual([
      { key: 'VERSION', value: undefined },
      { key: 'URL', value: 'https://x/latest' },
    ]);
    expect([...r.unmatched]).toEqual(['VERSION']);
  });

  it('uses the escape token and throws ShellExpansionError on bad values', () => {
    expect(expandKeyValuePairs([{ key: 'P', value: 'C:\\dir`$x' }], env, { escape: '`' }).pairs[0]!.value).toBe(
      'C:\\dir$x',
    );
    expect(() => expandKeyValuePairs([{ key: 'a', value: '"open' }], env)).toThrow(ShellExpansionError);
  });
});
