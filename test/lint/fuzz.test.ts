/**
 * Damaged Dockerfiles (corpus files with random insertions and deletions of the characters and words that steer the
 * grammar and the shell parser): the linter reports what it finds and never fails inside a rule, and the compiler
 * either builds a graph or raises a TsbuildError (a clear message with a position), never a TypeError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, parseTolerant } from '../../grammar/index.ts';
import { compile } from '../../compiler/index.ts';
import { lint } from '../../compiler/lint/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { corpus, lintText } from './helpers.ts';

const files = corpus().map((f) => f.text);
const PIECES = ['\\', '"', "'", '$(', '${', '<<EOF', '<<-X', '\n', '--', '[', ']', '{', '}', '`', ' ', '\t', '#', '=', ':', '/', '*', '..', 'FROM ', 'ARG A', ' AS ', '--from=', '--mount=type=', '\r\n', '\u00a0', '$', '@', '(', ')', '|', '&&', ';',
  // shell words that open and close compound commands, where a parser's error recovery is tested
  'function', 'function f', 'case x in', ' in ', 'if ', 'then', 'for ', 'do ', 'done', 'esac', 'fi', ';;', '$((', 'sh -c '];

/** One edit: insert a piece, delete a few characters, or cut the file off there (a truncated file). */
const edit = fc.record({
  at: fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 1_000_000),
  kind: fc.constantFrom('insert', 'insert', 'delete', 'truncate'),
  piece: fc.constantFrom(...PIECES),
  cut: fc.integer({ min: 1, max: 12 }),
});
const damaged = fc.record({ file: fc.integer({ min: 0, max: files.length - 1 }), edits: fc.array(edit, { minLength: 1, maxLength: 4 }) }).map(({ file, edits }) => {
  let t = files[file]!;
  for (const e of edits) {
    const at = Math.floor(e.at * t.length);
    if (e.kind === 'insert') t = t.slice(0, at) + e.piece + t.slice(at);
    else if (e.kind === 'delete') t = t.slice(0, at) + t.slice(at + e.cut);
    else t = `${t.slice(0, at)}; ${e.piece}`;
  }
  return t;
});

const internalErrors = (text: string): string[] => lint(parseTolerant(text, { file: 'Dockerfile' }).dockerfile).filter((f) => f.message.startsWith('internal error')).map((f) => f.message);

describe('damaged Dockerfiles', () => {
  it('ARG and ENV names with regular-expression characters do not break the rules that look for their uses', () => {
    // `ARG A[B` once made UnusedArg and EarlyArg build an invalid pattern ("internal error in rule ...")
    const text = 'FROM alpine:3\nARG A[B=1\nARG C(D\nENV E+F=1 G=${E+F}\nRUN echo $A[B\nRUN true\nRUN true\n';
    expect(internalErrors(text)).toEqual([]);
    expect(lintText(text).map((f) => f.code)).toContain('DL3044');
  });

  it('lint never fails inside a rule', () => {
    fc.assert(
      fc.property(damaged, (text) => {
        expect(internalErrors(text)).toEqual([]);
      }),
      { seed: 20261123, numRuns: 3000 },
    );
  });

  it('compile either builds a graph or raises a TsbuildError', () => {
    const opts = { buildArgs: new Map<string, string>(), platform: { os: 'linux', architecture: 'amd64' } };
    fc.assert(
      fc.property(damaged, (text) => {
        try {
          compile(parse(text, { file: 'Dockerfile' }), opts, () => undefined);
        } catch (e) {
          if (!(e instanceof TsbuildError)) throw e;
        }
      }),
      { seed: 20261123, numRuns: 3000 },
    );
  });
});
