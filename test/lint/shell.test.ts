/** The structural shell parser: argv and offsets, positions across continuations and heredocs, and agreement with sh-syntax. */
import { describe, expect, it } from 'vitest';
import { parseTolerant } from '../../grammar/index.ts';
import { LintContext, parseShell } from '../../compiler/lint/index.ts';
import { corpus, lintText, shellChecker } from './helpers.ts';

describe('parseShell', () => {
  it('reads commands, quotes and pipelines from the parse tree', () => {
    const s = parseShell(`apt-get install -y "a b" 'c' d\\ e && echo $(id -u) | tee /x; if true; then cd /; fi`);
    const names = s.commands.map((c) => c.name);
    expect(names).toEqual(['apt-get', 'echo', 'id', 'tee', 'true', 'cd']);
    expect(s.commands[0]!.args.map((w) => w.value)).toEqual(['install', '-y', 'a b', 'c', 'd e']);
    expect(s.pipelines).toHaveLength(1);
    expect(s.commands.find((c) => c.name === 'echo')!.pipelineLength).toBe(2);
    expect(s.suspect).toBe(false);
  });
  it('offsets point at the word in the script', () => {
    const text = 'x=1 apt-get  install curl';
    const c = parseShell(text).commands[0]!;
    expect(c.assignments[0]!.value).toBe('x=1');
    const w = c.args[1]!;
    expect(text.slice(w.start, w.end)).toBe('curl');
  });
  it('flags malformed scripts as suspect', () => {
    expect(parseShell('echo "unterminated').suspect).toBe(true);
    expect(parseShell('if true; then echo').suspect).toBe(true);
    expect(parseShell('for a in b; do echo $a; done').suspect).toBe(false);
  });
  it('never throws on a script that ends early (recovery past the end of input)', () => {
    // each of these once read past the end-of-input token and threw a TypeError
    for (const s of ['function', 'echo; function', '$(function)', 'case x in a) echo', 'case x in a) echo;; b']) {
      expect(() => parseShell(s), s).not.toThrow();
    }
    expect(parseShell('echo; function').commands.map((c) => c.name)).toEqual(['echo']);
    // every corpus RUN script cut at up to 24 places: a truncated script is still read, never thrown on
    let cuts = 0;
    for (const { name, text } of corpus()) {
      const ctx = new LintContext(parseTolerant(text, { file: name }).dockerfile, {});
      for (const r of ctx.runs) {
        const step = Math.max(1, Math.floor(r.text.length / 24));
        for (let k = step; k < r.text.length; k += step) {
          cuts++;
          expect(() => parseShell(r.text.slice(0, k)), `${name}: ${JSON.stringify(r.text.slice(0, k))}`).not.toThrow();
        }
      }
    }
    expect(cuts).toBeGreaterThan(10_000);
  });
});

describe('positions inside RUN', () => {
  it('a finding after a continuation has its real line and column', () => {
    const f = lintText('FROM debian:12\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends curl \\\n  && rm -rf /var/lib/apt/lists/*\n').find((x) => x.code === 'DL3008')!;
    expect(f.range.start).toMatchObject({ line: 3, col: 48 });
    expect(f.range.end).toMatchObject({ line: 3, col: 52 });
  });
  it('comment lines inside a continuation are skipped when mapping', () => {
    const f = lintText('FROM debian:12\nRUN apt-get update \\\n# a comment\n && apt-get install -y --no-install-recommends vim \\\n && rm -rf /var/lib/apt/lists/*\n').find((x) => x.code === 'DL3008')!;
    expect(f.range.start).toMatchObject({ line: 4, col: 48 });
  });
  it('a finding inside a heredoc body points into the body (with <<- tabs)', () => {
    const f = lintText('FROM debian:12\nRUN <<-EOF\n\tset -e\n\tsudo make\nEOF\n').find((x) => x.code === 'DL3004')!;
    expect(f.range.start).toMatchObject({ line: 4, col: 2 });
  });
});

describe('sh-syntax (mvdan/sh in WASM)', () => {
  it('reports a syntax error with its position (ShellSyntax)', async () => {
    const shellSyntax = await shellChecker();
    const f = lintText('FROM alpine:3\nRUN echo "oops\n', { shellSyntax }).find((x) => x.code === 'ShellSyntax');
    expect(f?.message).toMatch(/shell syntax error: .*quote/);
    expect(f?.range.start.line).toBe(2);
    expect(lintText('FROM alpine:3\nRUN echo ok && if true; then :; fi\n', { shellSyntax, shellSyntaxAll: true }).some((x) => x.code === 'ShellSyntax')).toBe(false);
  });
  it('agrees with our parser on the top-level statements of every corpus RUN it accepts', async () => {
    const sh = await shellChecker();
    let compared = 0;
    let rejected = 0;
    const disagreements: string[] = [];
    for (const { name, text } of corpus()) {
      const ctx = new LintContext(parseTolerant(text, { file: name }).dockerfile, {});
      for (const r of ctx.runs) {
        if (!r.heredoc && r.run.heredocs.length > 0) continue;
        const theirs = sh.statements(r.text, r.variant);
        if (!Array.isArray(theirs)) {
          rejected++;
          continue;
        }
        compared++;
        const ours = r.script.statements.map((s) => s.start);
        const starts = theirs.map((s) => s.start);
        if (JSON.stringify(ours) !== JSON.stringify(starts)) disagreements.push(`${name}:${r.run.range.start.line}`);
      }
    }
    console.log(`sh-syntax cross-check: ${compared} scripts compared, ${rejected} rejected by mvdan/sh, ${disagreements.length} disagree`);
    expect(compared).toBeGreaterThan(1000);
    expect(disagreements).toEqual([]);
  });
});
