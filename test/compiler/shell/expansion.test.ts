/** Each expansion form, option and error message, beyond BuildKit's own tables. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MAX_NESTING,
  processWord,
  processWords,
  ShellExpansionError,
  type ShellEnv,
  type ShellLexOptions,
} from '../../../compiler/shell/index.ts';
import { TsbuildError } from '../../../util/errors.ts';

const env: ShellEnv = new Map([
  ['P', '/usr/local/bin'],
  ['FILE', 'archive.tar.gz'],
  ['EMPTY', ''],
  ['X', 'x'],
  ['SPACED', 'a  b'],
  ['STAR', 'a*b'],
]);

const word = (w: string, opts?: ShellLexOptions, e: ShellEnv = env): string => processWord(w, e, opts).value;

/** The ShellExpansionError that expanding `w` throws (fails the test when nothing is thrown). */
function failure(w: string, e: ShellEnv = env, opts?: ShellLexOptions): ShellExpansionError {
  try {
    processWord(w, e, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ShellExpansionError);
    return err as ShellExpansionError;
  }
  throw new Error(`expected ${JSON.stringify(w)} to fail`);
}

describe('variable forms', () => {
  it.each([
    ['$X', 'x'],
    ['${X}', 'x'],
    ['$X$X', 'xx'],
    ['$Xy', ''], // the name is Xy
    ['${X}y', 'xy'],
    ['$UNSET', ''],
    ['a-$-b', 'a-b'], // $- is a special parameter, never set
    ['cost: $5', 'cost: '],
    ['$', '$'],
    ['a$ b', 'a$ b'],
    ['$/x', '$/x'],
  ])('%s → %s', (w, out) => expect(word(w)).toBe(out));

  it.each([
    ['${X:-d}', 'x'],
    ['${EMPTY:-d}', 'd'],
    ['${UNSET:-d}', 'd'],
    ['${X-d}', 'x'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${X:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${UNSET:+alt}', ''],
    ['${X+alt}', 'alt'],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${X:?m}', 'x'],
    ['${EMPTY?m}', ''],
    ['${UNSET:-${X}y}', 'xy'],
    ['${UNSET:-${ALSO:-deep}}', 'deep'],
    ['${UNSET:-a b}', 'a b'],
    ['${UNSET:-"a}b"}', 'a}b'],
    ["${UNSET:-'$X'}", '$X'],
    ['${UNSET:-\\}}', '}'],
  ])('%s → %s', (w, out) => expect(word(w)).toBe(out));
});

describe('patterns', () => {
  it.each([
    ['${P#*/}', 'usr/local/bin'],
    ['${P##*/}', 'bin'],
    ['${P%/*}', '/usr/local'],
    ['${P%%/*}', ''],
    ['${FILE%.*}', 'archive.tar'],
    ['${FILE%%.*}', 'archive'],
    ['${FILE#*.}', 'tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE#arch}', 'ive.tar.gz'],
    ['${FILE#nope}', 'archive.tar.gz'],
    ['${FILE#a?c}', 'hive.tar.gz'],
    ['${FILE#????????}', 'tar.gz'],
    ['${STAR#a\\*}', 'b'],
    ['${STAR#a\\?}', 'a*b'],
    ['${STAR%\\*b}', 'a'],
    ['${FILE#(}', 'archive.tar.gz'], // regexp metacharacters are literal
    ['${UNSET#*}', ''],
    ['${P/local/opt}', '/usr/opt/bin'],
    ['${P//\\//:}', ':usr:local:bin'],
    ['${P/\\//}', 'usr/local/bin'],
    ['${FILE/a*./X}', 'Xgz'], // the star is greedy
    ['${FILE//?/.}', '..............'],
    ['${FILE/#/x}', 'archive.tar.gz'], // no anchors: # is a literal character here
    ['${FILE/q/}', 'archive.tar.gz'],
  ])('%s → %s', (w, out) => expect(word(w)).toBe(out));

  it('follows Go regexp semantics: empty matches, . and newline, $0 in a replace-all template', () => {
    const e = new Map([
      ['V', 'ab'],
      ['NL', 'a\nb'],
      ['O', 'foo'],
    ]);
    expect(word('${V//*/x}', {}, e)).toBe('x'); // JS's naive replace would give 'xx'
    expect(word('${V//$NOPE/-}', {}, e)).toBe('-a-b-');
    expect(word('${V/$NOPE/-}', {}, e)).toBe('-ab');
    expect(word('${NL##*}', {}, e)).toBe('\nb'); // * does not cross a newline
    expect(word('${NL%%*}', {}, e)).toBe('a\n');
    expect(word('${O//o/<\\$0>}', {}, e)).toBe('f<\\o><\\o>');
    expect(word('${O/o/<\\$0>}', {}, e)).toBe('f<\\$0>o');
  });

  it('reverses escape pairs for suffix patterns', () => {
    const e = new Map([['V', 'x*?y*?']]);
    expect(word('${V%\\*\\?}', {}, e)).toBe('x*?y');
    expect(word('${V%%\\**}', {}, e)).toBe('x');
  });
});

describe('quotes and escapes', () => {
  it.each([
    ["'a b'", 'a b'],
    ["'$X \\'", '$X \\'],
    ['"$X $X"', 'x x'],
    ['"\\$X"', '$X'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['"a\\nb"', 'a\\nb'], // other escapes stay literal inside double quotes
    ['a\\ b', 'a b'],
    ['\\$X', '$X'],
    ['\\${X}', '${X}'],
    ['trailing\\', 'trailing'],
    ['"it\'s"', "it's"],
    ["'say \"hi\"'", 'say "hi"'],
  ])('%s → %s', (w, out) => expect(word(w)).toBe(out));

  it('honours the backtick escape token', () => {
    const bt: ShellLexOptions = { escape: '`' };
    expect(word('C:\\path\\$X', bt)).toBe('C:\\path\\x');
    expect(word('a`$X', bt)).toBe('a$X');
    expect(word('"a`"b"', bt)).toBe('a"b');
    expect(word('"a\\"', bt)).toBe('a\\');
    expect(word('a` b', bt)).toBe('a b');
  });

  it('drops a byte-order mark at the very start only, as Go text/scanner does', () => {
    expect(word('\ufeffabc')).toBe('abc');
    expect(word('a\ufeffb')).toBe('a\ufeffb');
  });

  it('handles astral characters in names, patterns and values', () => {
    const e = new Map([['V', '😀a😀b']]);
    expect(word('${V#?}', {}, e)).toBe('a😀b');
    expect(word('${V%?}', {}, e)).toBe('😀a😀');
    expect(word('${V//😀/-}', {}, e)).toBe('-a-b');
    expect(word('$Vé', {}, new Map([['Vé', 'ok']]))).toBe('ok');
  });
});

describe('options', () => {
  it('rawQuotes keeps the quote characters', () => {
    expect(word(`'a'"$X"`, { rawQuotes: true })).toBe(`'a'"x"`);
  });

  it('rawEscapes keeps the escape characters', () => {
    expect(word('a\\ b\\$X', { rawEscapes: true })).toBe('a\\ b\\$X');
  });

  it('skipUnsetEnv leaves unset references as written', () => {
    const o: ShellLexOptions = { skipUnsetEnv: true };
    expect(word('$U ${U} $X', o)).toBe('$U ${U} x');
    expect(word('${U:-$X} ${U+a} ${U#p}', o)).toBe('${U:-x} ${U+a} ${U#p}');
    expect(word('${U/a/b} ${U//a/b}', o)).toBe('${U/a/b} ${U/a/b}'); // upstream prints one slash for //
  });

  it('skipProcessQuotes treats quotes as ordinary characters', () => {
    expect(word(`'$X' "a b"`, { skipProcessQuotes: true })).toBe(`'x' "a b"`);
    expect(word(`it's`, { skipProcessQuotes: true })).toBe(`it's`);
  });

  it('caseInsensitiveEnv (Windows) folds names; among case variants the last one wins', () => {
    const e = new Map([
      ['path', 'first'],
      ['PATH', 'second'],
    ]);
    expect(word('$Path', { caseInsensitiveEnv: true }, e)).toBe('second');
    expect(word('$Path', {}, e)).toBe('');
    const r = processWord('$pwd', new Map([['PWD', 'C:\\']]), { caseInsensitiveEnv: true });
    expect([...r.matched]).toEqual(['pwd']); // recorded as written
    // Go's ToUpper maps rune by rune, so ß is not SS.
    expect(word('$straße', { caseInsensitiveEnv: true }, new Map([['STRASSE', 'no']]))).toBe('');
    expect(word('$straße', { caseInsensitiveEnv: true }, new Map([['STRAßE', 'yes']]))).toBe('yes');
  });
});

describe('matched / unmatched', () => {
  it('records every name looked up, nested ones included', () => {
    const r = processWord('${A:-$B} $X ${EMPTY} $1 ${X#$C}', env);
    expect([...r.matched].sort()).toEqual(['EMPTY', 'X']);
    expect([...r.unmatched].sort()).toEqual(['1', 'A', 'B', 'C']);
  });
  it('does not look names up inside single quotes or after an escape', () => {
    const r = processWord("'$A' \\$B \"\\$C\"", env);
    expect(r.matched.size + r.unmatched.size).toBe(0);
  });
  it('processWords reports them too', () => {
    const r = processWords('$X $Y', env);
    expect(r.words).toEqual(['x']);
    expect([...r.matched]).toEqual(['X']);
    expect([...r.unmatched]).toEqual(['Y']);
  });
});

describe('processWords splitting', () => {
  it.each([
    ['a b  c', ['a', 'b', 'c']],
    ['  lead trail  ', ['lead', 'trail']],
    ['"a b" c', ['a b', 'c']],
    ['a\\ b c', ['a b', 'c']],
    ['$SPACED', ['a', 'b']],
    ['"$SPACED"', ['a  b']],
    ['x$SPACED', ['xa', 'b']],
    ['"" a', ['a']], // an empty quoted word disappears
    ['\'\'', []],
    ['${UNSET:-"p q"}', ['p', 'q']], // quotes inside ${...} do not protect the expansion from splitting
    ['a\tb\u3000c\u00a0d', ['a', 'b', 'c', 'd']], // Go's unicode.IsSpace
    ['a\ufeffb', ['a\ufeffb']], // a BOM is not whitespace
  ] as const)('%j → %j', (w, out) => expect(processWords(w, env).words).toEqual(out));
});

describe('errors', () => {
  it.each([
    ['he${}', 'syntax error: bad substitution', 'bad-substitution', 2],
    ['${:-x}', 'syntax error: bad substitution', 'bad-substitution', 0],
    ['${{x}', 'syntax error: bad substitution', 'bad-substitution', 0],
    ['a${', "syntax error: missing '}'", 'missing-brace', 1],
    ['${X', "syntax error: missing '}'", 'missing-brace', 0],
    ['${X:', "syntax error: missing '}'", 'missing-brace', 0],
    ['${X:-abc', "syntax error: missing '}'", 'missing-brace', 0],
    ['${X:-"abc}', "syntax error: missing '}'", 'missing-brace', 0],
    ['${X/abc}', "syntax error: missing '/' in ${}", 'missing-slash', 0],
    ['${X/a/b', "syntax error: missing '}'", 'missing-brace', 0],
    ["ab'cd", 'unexpected end of statement while looking for matching single-quote', 'unterminated-quote', 2],
    ['a"b\\"', 'unexpected end of statement while looking for matching double-quote', 'unterminated-quote', 1],
    ['${X=y}', 'unsupported modifier (=) in substitution', 'unsupported-modifier', 0],
    ['${X:=y}', 'unsupported modifier (:=) in substitution', 'unsupported-modifier', 0],
    ['${X:#y}', 'unsupported modifier (:#) in substitution', 'unsupported-modifier', 0],
    ['${X:%%y}', 'unsupported modifier (:%) in substitution', 'unsupported-modifier', 0],
    ['${X y}', 'unsupported modifier ( ) in substitution', 'unsupported-modifier', 0],
    ['${X:0:1}', 'unsupported modifier (:0) in substitution', 'unsupported-modifier', 0],
    ['${#X}', 'unsupported modifier (X) in substitution', 'unsupported-modifier', 0],
    ['x${U?}', 'U: is not allowed to be unset', 'required-variable', 1],
    ['${EMPTY:?}', 'EMPTY: is not allowed to be empty', 'required-variable', 0],
    ['${U:?set U with $X}', 'U: set U with x', 'required-variable', 0],
    ['${X#\\a}', "invalid pattern (\\a) in substitution: invalid escape '\\a'", 'invalid-pattern', 0],
    ["${X%'\\'}", "invalid pattern (\\) in substitution: invalid escape '\\\ufffd'", 'invalid-pattern', 0],
    ['${X/\\q/r}', "invalid pattern (\\q) in substitution: invalid escape '\\q'", 'invalid-pattern', 0],
    ['${X:-${}}', 'syntax error: bad substitution', 'bad-substitution', 5],
  ])('%s: %s', (w, detail, reason, offset) => {
    const e = failure(w);
    expect(e.message).toBe(`failed to process ${JSON.stringify(w)}: ${detail}`);
    expect(e.detail).toBe(detail);
    expect(e.reason).toBe(reason);
    expect(e.offset).toBe(offset);
    expect(e.code).toBe('compile/expansion');
    expect(e).toBeInstanceOf(TsbuildError);
  });

  it('quotes the word like Go %q', () => {
    expect(failure('a\tb\n"é\u0001\u00a0${').message).toBe(
      'failed to process "a\\tb\\n\\"é\\x01\\u00a0${": syntax error: missing \'}\'',
    );
  });

  it('names the variable of a required-variable error and suggests how to set it', () => {
    const e = failure('${TOKEN:?}');
    expect(e.variable).toBe('TOKEN');
    expect(e.suggestion).toContain('--build-arg TOKEN=');
  });

  it('withLocation places the error in a Dockerfile', () => {
    const r = { start: { line: 3, col: 5, offset: 20 }, end: { line: 3, col: 9, offset: 24 } };
    const e = failure('${}').withLocation('Dockerfile', r);
    expect(e).toBeInstanceOf(ShellExpansionError);
    expect(e.file).toBe('Dockerfile');
    expect(e.range).toEqual(r);
    expect(e.reason).toBe('bad-substitution');
    expect(e.message).toBe('failed to process "${}": syntax error: bad substitution');
  });

  it('bounds nesting instead of overflowing the stack', () => {
    const ok = '${A:-'.repeat(MAX_NESTING - 1) + 'v' + '}'.repeat(MAX_NESTING - 1);
    expect(word(ok)).toBe('v');
    const deep = '${A:-'.repeat(50_000) + 'v' + '}'.repeat(50_000);
    expect(failure(deep).reason).toBe('too-deep');
  });
});

describe('purity', () => {
  it('compiler/shell imports nothing that does I/O', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../compiler/shell');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      const src = readFileSync(path.join(dir, f), 'utf8');
      const imports = [...src.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]!);
      for (const i of imports) expect(i, `${f} imports ${i}`).toMatch(/^\.\.?\//);
    }
  });
});
