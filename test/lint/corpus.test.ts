/**
 * The real-world corpus: lint runs on every file without an internal error, and `--fix` output parses and lints
 * clean for the rules it fixed (safe and unsafe fixes).
 */
import { describe, expect, it } from 'vitest';
import { parseTolerant } from '../../grammar/index.ts';
import { fixUntilStable, lint } from '../../compiler/lint/index.ts';
import { corpus, shellChecker } from './helpers.ts';

describe('corpus/real', () => {
  const files = corpus();
  it('lints every file; no rule crashes; findings counted per rule', async () => {
    const shellSyntax = await shellChecker();
    const counts = new Map<string, number>();
    const internal: string[] = [];
    for (const { name, text } of files) {
      for (const f of lint(parseTolerant(text, { file: name }).dockerfile, { shellSyntax })) {
        counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
        if (f.message.startsWith('internal error')) internal.push(`${name}: ${f.message}`);
        expect(f.range.start.line, `${name} ${f.code}`).toBeGreaterThan(0);
        expect(f.range.end.offset, `${name} ${f.code}`).toBeGreaterThanOrEqual(f.range.start.offset);
      }
    }
    console.log(`lint corpus: ${files.length} files; per rule: ${JSON.stringify(Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])))}`);
    expect(internal).toEqual([]);
    expect(files.length).toBeGreaterThan(300);
    // spot checks that the corpus exercises the core rules
    for (const code of ['DL3008', 'DL3018', 'LegacyKeyValueFormat', 'DL4006', 'DL3003']) expect(counts.get(code) ?? 0, code).toBeGreaterThan(10);
  });

  for (const unsafe of [false, true]) {
    it(`--fix${unsafe ? '=unsafe' : ''}: every fixed file parses and no longer has the fixed findings`, () => {
      let fixedFiles = 0;
      let fixes = 0;
      const problems: string[] = [];
      for (const { name, text } of files) {
        const before = parseTolerant(text, { file: name });
        const res = fixUntilStable(text, lint, { file: name }, { unsafe });
        if (res.applied.length === 0) continue;
        fixedFiles++;
        fixes += res.applied.length;
        const after = parseTolerant(res.text, { file: name });
        if (after.errors.length > before.errors.length) problems.push(`${name}: fix introduced a parse error: ${after.errors[0]!.message}`);
        const fixedCodes = new Set(res.applied.map((f) => f.code));
        const left = lint(after.dockerfile).filter((f) => fixedCodes.has(f.code) && f.fix && (unsafe || f.fix.safe));
        if (left.length > 0) problems.push(`${name}: still ${left.map((f) => `${f.code}@${f.range.start.line}`).join(', ')}`);
      }
      console.log(`fix${unsafe ? '=unsafe' : ''}: ${fixes} fixes in ${fixedFiles} files`);
      expect(fixedFiles).toBeGreaterThan(50);
      expect(problems).toEqual([]);
    });
  }
});
