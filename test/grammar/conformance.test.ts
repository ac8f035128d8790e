import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { dumpBuildkit, parse, parseTolerant } from '../../grammar/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { conformance, readJson } from './helpers.ts';

const positive = readdirSync(path.join(conformance, 'testfiles')).sort();
const negative = readdirSync(path.join(conformance, 'testfiles-negative')).sort();

describe('BuildKit testfiles: Node.Dump() byte for byte', () => {
  it('has the 33 upstream positive cases', () => expect(positive).toHaveLength(33));
  it.each(positive)('%s', (name) => {
    const dir = path.join(conformance, 'testfiles', name);
    const df = parse(readFileSync(path.join(dir, 'Dockerfile'), 'utf8'), { file: `${name}/Dockerfile` });
    expect(dumpBuildkit(df)).toBe(readFileSync(path.join(dir, 'result'), 'utf8'));
  });
});

describe('BuildKit testfiles-negative: the errors FORMAT.md lists', () => {
  const expected: Record<string, [string, string]> = {
    empty_dockerfile: ['parse/no-instructions', 'file with no instructions'],
    only_comments: ['parse/no-instructions', 'file with no instructions'],
    env_no_value: ['parse/env-missing-value', 'ENV must have two arguments'],
    'shykes-nested-json': ['parse/invalid-json', 'when using JSON array syntax, arrays must be comprised of strings only'],
  };
  it('has the 4 upstream negative cases', () => expect(negative).toEqual(Object.keys(expected).sort()));
  it.each(negative)('%s', (name) => {
    const text = readFileSync(path.join(conformance, 'testfiles-negative', name, 'Dockerfile'), 'utf8');
    let caught: unknown;
    try {
      parse(text, { file: 'Dockerfile' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TsbuildError);
    const e = caught as TsbuildError;
    expect([e.code, e.message]).toEqual(expected[name]);
    expect(e.file).toBe('Dockerfile');
    expect(e.range).toBeDefined();
    expect(parseTolerant(text).errors.map((d) => d.code)).toEqual([expected[name]![0]]);
  });

  it('points at the offending text', () => {
    const e = catchParse('FROM a\nENV PATH\n');
    expect(e.range).toEqual({ start: { line: 2, col: 5, offset: 11 }, end: { line: 2, col: 9, offset: 15 } });
    const j = catchParse('FROM a\nCMD [ "echo", [ "nested json" ] ]\n');
    expect(j.range?.start).toMatchObject({ line: 2, col: 15 });
    expect(j.range?.end).toMatchObject({ line: 2, col: 32 });
  });
});

describe('testfile-line: instruction line spans', () => {
  it('gives the documented StartLine/EndLine per child', () => {
    const expected = readJson<{ lineNumbers: { ast: [number, number]; children: [number, number][] } }>(path.join(conformance, 'derived/misc.json')).lineNumbers;
    const df = parse(readFileSync(path.join(conformance, 'testfile-line/Dockerfile'), 'utf8'));
    const spans = df.instructions.map((i) => [i.range.start.line, i.range.end.line]);
    expect(spans).toEqual(expected.children);
    expect([spans[0]![0], spans.at(-1)![1]]).toEqual(expected.ast);
  });
});

function catchParse(text: string): TsbuildError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof TsbuildError) return e;
    throw e;
  }
  throw new Error('expected a parse error');
}
