/**
 * BuildKit's own shell-lexer tables, read in place from /work/shared/conformance/buildkit/shell and parsed the way
 * lex_test.go reads them (FORMAT.md part b).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { envListToMap, processWord, processWords, ShellExpansionError } from '../../../compiler/shell/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const shellDir = path.resolve(repoRoot, '../shared/conformance/buildkit/shell');

interface EnvVarCase {
  line: number;
  platform: 'A' | 'U' | 'W';
  input: string;
  expectError: boolean;
  expected: string | null;
}

/** TestShellParser4EnvVars: `#` lines skipped, TrimSpace, skip empty, split on `|` into exactly 3 trimmed fields. */
function parseEnvVarTest(text: string): EnvVarCase[] {
  const cases: EnvVarCase[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const line = raw.trim();
    if (line === '') return;
    const fields = line.split('|');
    if (fields.length !== 3) throw new Error(`envVarTest line ${i + 1}: expected 3 fields: ${raw}`);
    const [platform, input, expected] = fields.map((f) => f.trim()) as [string, string, string];
    if (platform !== 'A' && platform !== 'U' && platform !== 'W') throw new Error(`bad platform on line ${i + 1}`);
    cases.push({
      line: i + 1,
      platform,
      input,
      expectError: expected === 'error',
      expected: expected === 'error' ? null : expected,
    });
  });
  return cases;
}

interface WordsCase {
  line: number;
  env: string[];
  input: string;
  expected: string[];
}

/** TestShellParser4Words: `#` comments, cumulative `ENV ` lines (left-trimmed of spaces only), `INPUT | W1,W2`. */
function parseWordsTest(text: string): WordsCase[] {
  const cases: WordsCase[] = [];
  const env: string[] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop(); // the newline that ends the last line
  lines.forEach((line, i) => {
    if (line.startsWith('#')) return;
    if (line.startsWith('ENV ')) {
      env.push(line.slice('ENV'.length).replace(/^ +/, ''));
      return;
    }
    const parts = line.split('|');
    if (parts.length !== 2) throw new Error(`wordsTest line ${i + 1}: expected one '|': ${line}`);
    cases.push({
      line: i + 1,
      env: [...env],
      input: parts[0]!.trim(),
      expected: parts[1]!.replace(/^\s+/, '').split(','),
    });
  });
  return cases;
}

const envVarText = readFileSync(path.join(shellDir, 'envVarTest'), 'utf8');
const envVarCases = parseEnvVarTest(envVarText);
const wordsCases = parseWordsTest(readFileSync(path.join(shellDir, 'wordsTest'), 'utf8'));
const derivedEnvVar = JSON.parse(readFileSync(path.join(shellDir, 'derived/envVarTest.json'), 'utf8')) as {
  env: Record<string, string>;
  cases: EnvVarCase[];
};
const derivedWords = JSON.parse(readFileSync(path.join(shellDir, 'derived/wordsTest.json'), 'utf8')) as {
  cases: (WordsCase & { expectError: boolean })[];
};

interface MatchCase {
  input: string;
  env: Record<string, string>;
  expectError: boolean;
  expected: string | null;
  matched: string[] | null;
  unmatched: string[] | null;
}
interface MandatoryCase {
  input: string;
  env: Record<string, string>;
  expectError: boolean;
  expected?: string;
  errorContains?: string;
}
const withMatches = JSON.parse(readFileSync(path.join(shellDir, 'derived/processWordWithMatches.json'), 'utf8')) as {
  cases: MatchCase[];
  mandatoryVarCases: MandatoryCase[];
};

const ENV = new Map([
  ['PWD', '/home'],
  ['SHELL', 'bash'],
  ['KOREAN', '한국어'],
  ['NULL', ''],
]);

describe('envVarTest (ProcessWord)', () => {
  it('parses to the documented counts and agrees with the derived JSON', () => {
    expect(envVarCases).toHaveLength(230);
    expect(envVarCases.filter((c) => c.platform === 'A')).toHaveLength(226);
    expect(envVarCases.filter((c) => c.platform === 'U')).toHaveLength(2);
    expect(envVarCases.filter((c) => c.platform === 'W')).toHaveLength(2);
    expect(envVarCases.filter((c) => c.expectError)).toHaveLength(36);
    expect(envVarCases.filter((c) => c.expected === '')).toHaveLength(57);
    expect(envVarCases).toEqual(derivedEnvVar.cases);
    expect(new Map(Object.entries(derivedEnvVar.env))).toEqual(ENV);
  });

  // U cases run in Unix mode, W cases in Windows mode (case-insensitive names), A cases in both.
  const runs = envVarCases.flatMap((c) =>
    c.platform === 'A'
      ? [
          { c, windows: false },
          { c, windows: true },
        ]
      : [{ c, windows: c.platform === 'W' }],
  );
  it.each(runs.map((r) => [`line ${r.c.line} ${r.windows ? 'windows' : 'unix'}: ${r.c.input}`, r] as const))(
    '%s',
    (_name, { c, windows }) => {
      const opts = { caseInsensitiveEnv: windows };
      if (c.expectError) {
        expect(() => processWord(c.input, ENV, opts)).toThrow(ShellExpansionError);
      } else {
        expect(processWord(c.input, ENV, opts).value).toBe(c.expected);
      }
    },
  );
});

describe('wordsTest (ProcessWords)', () => {
  it('parses to the documented counts and agrees with the derived JSON', () => {
    expect(wordsCases).toHaveLength(24);
    expect(wordsCases.filter((c) => c.expected.join() === 'error')).toHaveLength(1);
    expect(wordsCases.at(-4)!.env.at(-1)).toBe('trailing=ab c   ');
    expect(wordsCases.map(({ line, env, input, expected }) => ({ line, env, input, expected }))).toEqual(
      derivedWords.cases.map(({ line, env, input, expectError, expected }) => ({
        line,
        env,
        input,
        expected: expectError ? ['error'] : expected,
      })),
    );
  });

  it.each(wordsCases.map((c) => [`line ${c.line}: ${c.input}`, c] as const))('%s', (_name, c) => {
    let got: string[];
    try {
      got = processWords(c.input, envListToMap(c.env)).words;
    } catch (e) {
      expect(e).toBeInstanceOf(ShellExpansionError);
      got = ['error'];
    }
    expect(got).toEqual(c.expected);
  });
});

describe('ProcessWordWithMatches tables', () => {
  it('has 47 + 3 match cases and 6 mandatory-variable cases', () => {
    expect(withMatches.cases.filter((c) => c.matched !== null || c.expectError)).toHaveLength(47);
    expect(withMatches.cases.filter((c) => c.matched === null && !c.expectError)).toHaveLength(3);
    expect(withMatches.mandatoryVarCases).toHaveLength(6);
  });

  it.each(withMatches.cases.map((c, i) => [`#${i}: ${c.input} ${JSON.stringify(c.env)}`, c] as const))(
    '%s',
    (_name, c) => {
      const env = new Map(Object.entries(c.env));
      if (c.expectError) {
        expect(() => processWord(c.input, env)).toThrow(ShellExpansionError);
        return;
      }
      const r = processWord(c.input, env);
      expect(r.value).toBe(c.expected);
      if (c.matched !== null) expect([...r.matched].sort()).toEqual([...c.matched].sort());
      if (c.unmatched !== null) expect([...r.unmatched].sort()).toEqual([...c.unmatched].sort());
    },
  );

  it.each(withMatches.mandatoryVarCases.map((c, i) => [`mandatory #${i}: ${c.input} ${JSON.stringify(c.env)}`, c] as const))(
    '%s',
    (_name, c) => {
      const env = new Map(Object.entries(c.env));
      if (c.expectError) {
        expect(() => processWord(c.input, env)).toThrow(c.errorContains!);
        expect(() => processWord(c.input, env)).toThrow(ShellExpansionError);
      } else {
        expect(processWord(c.input, env).value).toBe(c.expected);
      }
    },
  );
});
