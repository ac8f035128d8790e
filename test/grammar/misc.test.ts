import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { detectSyntax, dumpBuildkit, parse, parseJsonArray, parseTolerant, splitBuildkitWords } from '../../grammar/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { conformance, readJson } from './helpers.ts';

const misc = readJson<{
  parseWords: { input: string; expect: string[] }[];
  emptyContinuationWarnings: { dockerfile: string; warningCount: number; warningShortContains: string[][]; detailContains: string };
  lineTooLong: { dockerfile: string; error: string };
  jsonArrays: { valid: [string, string[]][]; notStringArrayError: string[] };
  nameVal: { input: string; key: string; chain?: string[]; error?: string }[];
  directives: { text: string; parseAll: [string, string][] }[];
  detectSyntax: { text: string; ok: boolean; ref?: string; cmdline?: string; line?: number }[];
}>(path.join(conformance, 'derived/misc.json'));

function errorOf(text: string): TsbuildError {
  try {
    parse(text, { file: 'Dockerfile' });
  } catch (e) {
    if (e instanceof TsbuildError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('misc.json', () => {
  it.each(misc.parseWords.map((c) => [c.input, c.expect] as const))('parseWords %j', (input, exp) => {
    expect(splitBuildkitWords(input).map((w) => w.value)).toEqual(exp);
  });

  it('empty continuation lines: one warning per instruction, with its position', () => {
    const { dockerfile, errors } = parseTolerant(misc.emptyContinuationWarnings.dockerfile);
    expect(errors).toEqual([]);
    const w = dockerfile.warnings;
    expect(w).toHaveLength(misc.emptyContinuationWarnings.warningCount);
    misc.emptyContinuationWarnings.warningShortContains.forEach((parts, i) => {
      for (const p of parts) expect(w[i]!.message).toContain(p);
      expect(w[i]!.code).toBe('parse/empty-continuation');
      expect(w[i]!.severity).toBe('warning');
    });
    expect(w[0]!.range?.start).toMatchObject({ line: 8, col: 1 });
    expect(w[0]!.suggestion).toContain(misc.emptyContinuationWarnings.detailContains);
  });

  it('line too long', () => {
    const text = misc.lineTooLong.dockerfile.replace('<65536 x "a">', 'a'.repeat(65536));
    const e = errorOf(text);
    expect(e.code).toBe('parse/line-too-long');
    expect(e.message).toBe(misc.lineTooLong.error);
    expect(e.range?.start.line).toBe(3);
    expect(parse(`FROM a\nLABEL x=${'b'.repeat(65535 - 8)}\n`).instructions).toHaveLength(2);
  });

  it.each(misc.jsonArrays.valid)('JSON %j', (input, exp) => {
    expect(parseJsonArray(input)).toEqual(exp);
    expect(dumpBuildkit(parse(`CMD ${input}`))).toBe(`(cmd${exp.map((s) => ' ' + JSON.stringify(s)).join('').replace(/\\u0000/g, '\\x00')})\n`);
  });
  it.each(misc.jsonArrays.notStringArrayError)('JSON %j is a non-string array error', (input) => {
    expect(parseJsonArray(input)).toBe('not-strings');
    expect(errorOf(`CMD ${input}`).code).toBe('parse/invalid-json');
  });

  it.each(misc.nameVal.map((c) => [c.key, c.input, c] as const))('%s %s', (key, input, c) => {
    if (c.error) {
      const e = errorOf(`${key} ${input}`);
      expect(e.message).toBe(c.error);
      expect(e.code).toBe('parse/env-missing-value');
    } else {
      expect(parse(`${key} ${input}`).instructions[0]!.args.map((a) => a.value)).toEqual(c.chain);
    }
  });

  it.each(misc.directives.map((d) => [d.text, d.parseAll] as const))('directives %j', (text, exp) => {
    const df = parseTolerant(text + 'FROM a\n').dockerfile;
    expect(df.directives.map((d) => [d.name, d.value])).toEqual(exp);
  });

  it.each(misc.detectSyntax.map((d) => [d.text, d] as const))('detectSyntax %j', (text, d) => {
    const r = detectSyntax(text);
    if (!d.ok) return expect(r).toBeUndefined();
    expect(r?.ref).toBe(d.ref);
    if (d.cmdline !== undefined) expect(r?.cmdline).toBe(d.cmdline);
    if (d.line !== undefined) expect(r?.line).toBe(d.line);
  });
});

describe('directives', () => {
  it('a repeated directive is an error at its line', () => {
    const e = errorOf('# syntax=a\n# SYNTAX=b\nFROM x\n');
    expect([e.code, e.message, e.range?.start.line]).toEqual(['parse/duplicate-directive', 'only one syntax parser directive can be used', 2]);
  });
  it('a bad escape is an error', () => {
    const e = errorOf('# escape=x\nFROM x\n');
    expect([e.code, e.message]).toEqual(['parse/invalid-escape', "invalid escape token 'x' does not match ` or \\"]);
  });
  it('stops scanning at a blank line, a plain comment or an instruction', () => {
    expect(parse('\n# escape=`\nFROM a\n').escape).toBe('\\');
    expect(parse('# hello\n# escape=`\nFROM a\n').escape).toBe('\\');
    expect(parse('# check=skip=all\n#escape=`\nFROM a\n').directives.map((d) => d.name)).toEqual(['check', 'escape']);
    expect(parse('FROM a\n# escape=`\n').escape).toBe('\\');
  });
  it('escape=` changes continuations and word escaping, not JSON', () => {
    const df = parse('# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo x\nENV A=a` b\nCMD ["c:\\\\x"]\n');
    expect(dumpBuildkit(df)).toBe('(from "a")\n(run "dir c:\\\\   && echo x")\n(env "A" "a` b" "=")\n(cmd "c:\\\\x")\n');
  });
});

describe('lines', () => {
  it('BOM and CRLF', () => {
    const df = parse('\ufeffFROM a\r\nRUN echo \\\r\n  hi\r\n');
    expect(dumpBuildkit(df)).toBe('(from "a")\n(run "echo   hi")\n');
    expect(df.instructions[1]!.range.end).toMatchObject({ line: 3, col: 5 });
  });
  it('comments inside continuations are dropped but kept in the comment list', () => {
    const df = parse('FROM a\nRUN a \\\n# c\n  b\n');
    expect(dumpBuildkit(df)).toBe('(from "a")\n(run "a   b")\n');
    expect(df.comments.map((c) => c.text)).toEqual([' c']);
  });
  it('trailing whitespace after the escape still continues', () => {
    expect(dumpBuildkit(parse('RUN a \\  \t\nb\n'))).toBe('(run "a b")\n');
  });
  it('continuation at EOF ends the instruction', () => {
    expect(dumpBuildkit(parse('FROM a\nRUN a \\'))).toBe('(from "a")\n(run "a")\n');
  });
  it('attaches preceding comments (BuildKit PrevComment)', () => {
    const df = parse('# one\n\n# two\nFROM a\n#\n# three\nRUN x\n');
    expect(df.instructions.map((i) => i.comments.map((c) => c.text.trim()))).toEqual([['one', 'two'], ['three']]);
  });
});

describe('instructions', () => {
  it('dumps the derived examples of FORMAT.md', () => {
    expect(dumpBuildkit(parse('FROM --platform=$BUILDPLATFORM golang:1.22 AS build'))).toBe('(from ["--platform=$BUILDPLATFORM"] "golang:1.22" "AS" "build")\n');
    expect(dumpBuildkit(parse('RUN --mount=type=cache,target=/c,id="a b" go build'))).toBe('(run ["--mount=type=cache,target=/c,id=a b"] "go build")\n');
    expect(dumpBuildkit(parse('FOO bar'))).toBe('(foo "")\n');
    expect(dumpBuildkit(parse('SHELL ["/bin/sh","-c"]'))).toBe('(shell "/bin/sh" "-c")\n');
  });
  it('FROM fields and flag ranges', () => {
    const text = 'FROM --platform=linux/amd64 img:1 as Build extra';
    const f = parse(text).instructions[0]!;
    if (f.kind !== 'FROM') throw new Error('not FROM');
    expect([f.image.value, f.asKeyword?.value, f.stageName?.value, f.extra.map((e) => e.value)]).toEqual(['img:1', 'as', 'Build', ['extra']]);
    const fl = f.flags[0]!;
    expect([fl.name, fl.value, fl.raw]).toEqual(['platform', 'linux/amd64', '--platform=linux/amd64']);
    expect(text.slice(fl.nameRange.start.offset, fl.nameRange.end.offset)).toBe('platform');
    expect(text.slice(fl.valueRange!.start.offset, fl.valueRange!.end.offset)).toBe('linux/amd64');
    expect(text.slice(f.image.range.start.offset, f.image.range.end.offset)).toBe('img:1');
  });
  it('bare flags, unknown flags and `--`', () => {
    const c = parse('COPY --link --bogus=1 -- --weird /d').instructions[0]!;
    expect(c.flags.map((f) => [f.name, f.value])).toEqual([['link', null], ['bogus', '1']]);
    expect(c.args.map((a) => a.value)).toEqual(['--weird', '/d']);
  });
  it('a flag starts with a raw `--`: `a-b`, `a--b` and a quoted "--x" are arguments (extractBuilderFlags)', () => {
    const [run, copy, quoted, flagged] = parse('RUN a-b c\nCOPY a--b /x\nRUN "--x" y\nRUN --network=none a-b\n').instructions;
    expect(run!.flags).toEqual([]);
    expect(dumpBuildkit(parse('RUN a-b c\n'))).toContain('(run "a-b c")');
    expect(copy!.flags).toEqual([]);
    expect(copy!.args.map((a) => a.value)).toEqual(['a--b', '/x']);
    expect(quoted!.flags).toEqual([]);
    expect(flagged!.flags.map((f) => [f.name, f.value])).toEqual([['network', 'none']]);
  });
  it('ARG declarations', () => {
    const a = parse('ARG A B=2 C="x y"').instructions[0]!;
    if (a.kind !== 'ARG') throw new Error('not ARG');
    expect(a.declarations.map((d) => [d.name.value, d.default?.value])).toEqual([['A', undefined], ['B', '2'], ['C', '"x y"']]);
  });
  it('ENV pairs keep raw values; legacy form flagged', () => {
    const e = parse('ENV a="x y" b=c\nENV k v w').instructions;
    if (e[0]!.kind !== 'ENV' || e[1]!.kind !== 'ENV') throw new Error('not ENV');
    expect(e[0]!.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([['a', '"x y"', false], ['b', 'c', false]]);
    expect(e[1]!.pairs.map((p) => [p.key.value, p.value.value, p.legacy])).toEqual([['k', 'v w', true]]);
  });
  it('ENV a=b c is a syntax error', () => {
    const e = errorOf('FROM a\nENV a=b c\n');
    expect([e.code, e.message]).toEqual(['parse/env-syntax', 'Syntax error - can\'t find = in "c". Must be of the form: name=value']);
    expect(e.range?.start).toMatchObject({ line: 2, col: 9 });
  });
  it('HEALTHCHECK forms', () => {
    const [a, b, c] = parse('HEALTHCHECK NONE\nHEALTHCHECK --interval=5s CMD ["curl", "x"]\nHEALTHCHECK cmd curl x').instructions;
    if (a!.kind !== 'HEALTHCHECK' || b!.kind !== 'HEALTHCHECK' || c!.kind !== 'HEALTHCHECK') throw new Error('kind');
    expect(a!.type.value).toBe('NONE');
    expect(b!.command).toMatchObject({ form: 'exec' });
    expect(c!.type.value).toBe('CMD');
    expect(c!.command).toMatchObject({ form: 'shell', command: { value: 'curl x' } });
  });
  it('JSON form: trailing text after the array is ignored as Go\'s decoder does; bad JSON falls back', () => {
    expect(dumpBuildkit(parse('CMD ["a"] b'))).toBe('(cmd "a")\n');
    expect(dumpBuildkit(parse("VOLUME ['/a'] /b"))).toBe('(volume "[\'/a\']" "/b")\n');
  });
  it('keyword case, MAINTAINER, STOPSIGNAL, USER, WORKDIR, EXPOSE, unknown', () => {
    const df = parse('from a\nMaintainer me <m@x>\nSTOPSIGNAL SIGKILL\nUSER u:g\nWORKDIR /a b\nEXPOSE 80 443/udp\nFOO bar\n');
    expect(df.instructions.map((i) => i.kind)).toEqual(['FROM', 'MAINTAINER', 'STOPSIGNAL', 'USER', 'WORKDIR', 'EXPOSE', 'UNKNOWN']);
    expect(df.instructions[0]!.keywordText).toBe('from');
    expect(df.instructions[6]!.keyword).toBe('FOO');
    expect(dumpBuildkit(df)).toBe('(from "a")\n(maintainer "me <m@x>")\n(stopsignal "SIGKILL")\n(user "u:g")\n(workdir "/a b")\n(expose "80" "443/udp")\n(foo "")\n');
  });
});

describe('tolerant mode', () => {
  it('returns every problem instead of the first', () => {
    const { dockerfile, errors } = parseTolerant('# escape=x\nFROM a\nENV X\nCMD [1]\nENV a=b c\nRUN <<E\n', { file: 'F' });
    expect(errors.map((e) => e.code)).toEqual(['parse/invalid-escape', 'parse/env-missing-value', 'parse/invalid-json', 'parse/env-syntax', 'parse/unterminated-heredoc']);
    expect(errors.every((e) => e.file === 'F' && e.range !== undefined)).toBe(true);
    expect(dockerfile.instructions.map((i) => i.kind)).toEqual(['FROM', 'ENV', 'CMD', 'ENV', 'RUN']);
  });
});

describe('the line grammar', () => {
  it('passes Chevrotain grammar validations (skipped at run time for start-up speed)', async () => {
    const { createLineParser } = await import('../../grammar/cst.ts');
    expect(() => createLineParser(true)).not.toThrow();
  });
});
