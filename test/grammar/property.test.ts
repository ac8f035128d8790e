import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parse, parseTolerant, dumpBuildkit, toJson } from '../../grammar/index.ts';
import type { Dockerfile, Range } from '../../grammar/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { corpusDockerfiles } from './helpers.ts';

const corpus = corpusDockerfiles().map((f) => f.text);

/** Every range anywhere in the AST (found by shape), for the bounds checks. */
function ranges(df: Dockerfile): Range[] {
  const out: Range[] = [];
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const o = v as Record<string, unknown>;
    if (isRange(o)) {
      out.push(o as unknown as Range);
      return;
    }
    for (const [k, x] of Object.entries(o)) if (k !== 'source') walk(x);
  };
  walk(df);
  return out;
}
const isRange = (o: Record<string, unknown>): boolean =>
  typeof o.start === 'object' && o.start !== null && typeof o.end === 'object' && 'offset' in (o.start as object);

function checkRanges(df: Dockerfile): void {
  const len = df.source.length;
  const lines = df.source.split('\n');
  const starts: number[] = [];
  lines.reduce((n, l) => (starts.push(n), n + l.length + 1), 0);
  for (const r of ranges(df)) {
    for (const p of [r.start, r.end]) {
      const ok = p.offset >= 0 && p.offset <= len && p.line >= 1 && p.line <= lines.length + 1 && p.col >= 1;
      if (!ok) expect(p).toBe('a position inside the text');
      // line/col and offset agree
      const lineStart = starts[p.line - 1] ?? len;
      if (lineStart + p.col - 1 !== p.offset) expect(lineStart + p.col - 1).toBe(p.offset);
    }
    if (r.end.offset < r.start.offset) expect(r).toBe('an ordered range');
  }
  let prev = -1;
  for (const ins of df.instructions) {
    expect(ins.range.start.offset).toBeGreaterThan(prev);
    expect(ins.range.end.offset).toBeGreaterThanOrEqual(ins.range.start.offset);
    prev = ins.range.end.offset;
  }
}

/** parse throws only TsbuildError; parseTolerant never throws; both agree; ranges are sane. */
function checkInput(text: string): void {
  const tol = parseTolerant(text, { file: 'Dockerfile' });
  checkRanges(tol.dockerfile);
  dumpBuildkit(tol.dockerfile);
  toJson(tol.dockerfile);
  let threw: unknown;
  try {
    parse(text, { file: 'Dockerfile' });
  } catch (e) {
    threw = e;
  }
  if (tol.errors.length === 0) expect(threw).toBeUndefined();
  else {
    expect(threw).toBeInstanceOf(TsbuildError);
    expect((threw as TsbuildError).code).toBe(tol.errors[0]!.code);
    for (const e of tol.errors) expect(e.range).toBeDefined();
  }
}

const pieces = ['\\', '`', '"', "'", '<<', '<<-', '[', ']', '{', '}', ',', '=', '--', ' ', '\t', '\n', '\r\n', '#', '$', '${', 'EOF', '# escape=`\n', '\ufeff'];
const keywords = ['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'COPY', 'ADD', 'ENV', 'LABEL', 'ARG', 'EXPOSE', 'VOLUME', 'USER', 'WORKDIR', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'MAINTAINER', 'BOGUS'];

const mutation = fc.record({
  file: fc.integer({ min: 0, max: corpus.length - 1 }),
  edits: fc.array(
    fc.record({
      kind: fc.constantFrom('delete', 'insert', 'duplicate'),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 20 }),
      piece: fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 3 })),
    }),
    { minLength: 1, maxLength: 8 },
  ),
});

function mutate(text: string, edits: { kind: string; at: number; len: number; piece: string }[]): string {
  let t = text;
  for (const e of edits) {
    const at = t.length === 0 ? 0 : e.at % (t.length + 1);
    if (e.kind === 'delete') t = t.slice(0, at) + t.slice(at + e.len);
    else if (e.kind === 'insert') t = t.slice(0, at) + e.piece + t.slice(at);
    else t = t.slice(0, at) + t.slice(at, at + e.len) + t.slice(at);
  }
  return t;
}

const randomLine = fc
  .tuple(fc.constantFrom(...keywords), fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 6 })), { maxLength: 10 }))
  .map(([k, parts]) => `${k} ${parts.join('')}`);

describe('property: the parser never crashes', () => {
  it('on mutated corpus files', () => {
    fc.assert(fc.property(mutation, ({ file, edits }) => checkInput(mutate(corpus[file]!, edits))), { numRuns: 400 });
  });
  it('on random Dockerfiles built from tricky pieces', () => {
    fc.assert(fc.property(fc.array(randomLine, { maxLength: 12 }), (lines) => checkInput(lines.join('\n'))), { numRuns: 600 });
  });
  it('on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (s) => checkInput(s)), { numRuns: 400 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => checkInput(s)), { numRuns: 200 });
  });
  it('unchanged corpus files have sane ranges', () => {
    for (const t of corpus) checkRanges(parse(t));
  });
});
