import { describe, expect, it } from 'vitest';
import path from 'node:path';
import { heredocsFromLine, parse, parseHeredocWord, parseTolerant, ShellWordError } from '../../grammar/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { conformance, readJson } from './helpers.ts';

interface BkHeredoc { Name: string; Content: string; Expand: boolean; Chomp: boolean; FileDescriptor: number }
const data = readJson<{
  extractsHeredoc: { dockerfile: string; expected: { comment: string; heredocs: BkHeredoc[] | null }[] };
  jsonFormNoHeredoc: { dockerfile: string };
  chompHeredocContent: { input: string; expected: string };
  parseHeredocWord: { validNameEOF: string[]; error: string[]; notHeredoc: string[] };
  heredocsFromLine: { line: string; names: string[] }[];
}>(path.join(conformance, 'derived/heredocs.json'));

describe('heredocs.json: TestParseExtractsHeredoc', () => {
  const df = parse(data.extractsHeredoc.dockerfile);
  const children = df.instructions.slice(1);
  it('has one child per expectation', () => expect(children).toHaveLength(data.extractsHeredoc.expected.length));
  it.each(data.extractsHeredoc.expected.map((e, i) => [i, e.comment, e.heredocs] as const))('child %i: %s', (i, _c, exp) => {
    const got = children[i]!.heredocs.map((h) => ({
      Name: h.name,
      Content: h.rawContent,
      Expand: h.expand,
      Chomp: h.chomp,
      FileDescriptor: h.fd ?? 0,
    }));
    expect(got).toEqual(exp ?? []);
  });
  it('strips tabs into `content` for <<- and keeps them in rawContent', () => {
    const d = parse('FROM a\nRUN <<-X\n\tone\n\t\ttwo\n\tX\n');
    const h = d.instructions[1]!.heredocs[0]!;
    expect(h.content).toBe('one\ntwo\n');
    expect(h.rawContent).toBe('\tone\n\t\ttwo\n');
  });
});

describe('heredocs.json: JSON form never has heredocs', () => {
  it('children 1..3 have none', () => {
    const df = parse(data.jsonFormNoHeredoc.dockerfile);
    expect(df.instructions.slice(1, 4).map((i) => i.heredocs.length)).toEqual([0, 0, 0]);
  });
});

describe('heredocs.json: ParseHeredoc words', () => {
  it.each(data.parseHeredocWord.validNameEOF)('%s names EOF', (w) => expect(parseHeredocWord(w)?.name).toBe('EOF'));
  it.each(data.parseHeredocWord.error)('%s is an error', (w) => expect(() => parseHeredocWord(w)).toThrow(ShellWordError));
  it.each(data.parseHeredocWord.notHeredoc)('%j is not a heredoc', (w) => expect(parseHeredocWord(w)).toBeUndefined());
  it('chomps like ChompHeredocContent', () => {
    const body = data.chompHeredocContent.input;
    const df = parse(`FROM a\nRUN <<-E\n${body}E\n`);
    expect(df.instructions[1]!.heredocs[0]!.content).toBe(data.chompHeredocContent.expected);
  });
});

describe('heredocs.json: heredocsFromLine', () => {
  it.each(data.heredocsFromLine.map((c) => [c.line, c.names] as const))('%s', (line, names) => {
    expect(heredocsFromLine(line).map((h) => h.name)).toEqual(names);
  });
});

describe('heredoc AST details', () => {
  const text = 'FROM a\nCOPY --chmod=755 <<one 3<<"two" /dst/\nbody1\none\nbody2\ntwo\nONBUILD RUN <<X\nx\nX\nRUN echo\n';
  const df = parse(text);
  it('keeps markers, fds, expand and ranges', () => {
    const copy = df.instructions[1]!;
    expect(copy.kind).toBe('COPY');
    expect(copy.heredocs.map((h) => [h.name, h.fd, h.expand])).toEqual([['one', undefined, true], ['two', 3, false]]);
    const [one, two] = copy.heredocs;
    expect(text.slice(one!.markerRange.start.offset, one!.markerRange.end.offset)).toBe('<<one');
    expect(text.slice(two!.markerRange.start.offset, two!.markerRange.end.offset)).toBe('3<<"two"');
    expect(text.slice(one!.contentRange.start.offset, one!.contentRange.end.offset)).toBe('body1\n');
    expect(copy.range.end).toMatchObject({ line: 6, col: 4 });
    if (copy.kind === 'COPY') expect(copy.sources.map((s) => s.value)).toEqual(['<<one', '3<<"two"']);
  });
  it('reads heredocs under ONBUILD', () => {
    const ob = df.instructions[2]!;
    expect(ob.kind).toBe('ONBUILD');
    expect(ob.heredocs.map((h) => h.content)).toEqual(['x\n']);
    if (ob.kind === 'ONBUILD') expect(ob.trigger?.kind).toBe('RUN');
    expect(df.instructions[3]!.range.start.line).toBe(10);
  });
  it('does not look for heredocs in other instructions or in quotes', () => {
    const d = parse('FROM a\nLABEL x=<<EOF\nRUN echo "<<EOF"\nRUN cat<<EOF\n');
    expect(d.instructions.map((i) => i.heredocs.length)).toEqual([0, 0, 0, 0]);
  });
  it('reports an unterminated heredoc at its marker', () => {
    const t = 'FROM a\nRUN <<EOF cat\nhello\n';
    let err: unknown;
    try {
      parse(t, { file: 'Dockerfile' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TsbuildError);
    expect((err as TsbuildError).code).toBe('parse/unterminated-heredoc');
    expect((err as TsbuildError).range?.start).toMatchObject({ line: 2, col: 5 });
    const tol = parseTolerant(t);
    expect(tol.errors.map((e) => e.code)).toEqual(['parse/unterminated-heredoc']);
    expect(tol.dockerfile.instructions[1]!.heredocs[0]!.content).toBe('hello\n');
  });
  it('keeps CRLF inside bodies, as BuildKit', () => {
    const d = parse('FROM a\r\nRUN <<E\r\nx\r\nE\r\n');
    expect(d.instructions[1]!.heredocs[0]!.rawContent).toBe('x\r\n');
  });
});
