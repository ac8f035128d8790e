/**
 * BuildKit's instruction-layer cases (/work/shared/conformance/buildkit/instructions/derived/instructions.json):
 * argument counts, error messages, HEALTHCHECK shell form, RUN flags, COPY and RUN heredocs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from '../../grammar/index.ts';
import { compile } from '../../compiler/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { c, execs, files, none, opts, sharedRoot, targetStage } from './helpers.ts';

interface Data {
  exactlyOneArgument: { inputs: string[]; error: string };
  atLeastOneArgument: { inputs: string[]; error: string };
  noDestination: { inputs: string[]; error: string };
  errorCases: { name: string; dockerfile: string; errorContains: string }[];
  healthcheckShellForm: { chain: string[]; expectedTest: string[] };
  runFlagsUsed: { dockerfile: string; flagsUsed: string[] };
  copyHeredoc: { dockerfile: string; dest: string; sourcePaths: string[]; sourceContents: { path: string; data: string; expand: boolean }[] }[];
  runHeredoc: { dockerfile: string; prependShell: boolean; cmdLine: string[]; files: { name: string; data: string; chomp: boolean }[] }[];
}
const data = JSON.parse(readFileSync(path.join(sharedRoot, 'conformance/buildkit/instructions/derived/instructions.json'), 'utf8')) as Data;

/** The first error parse+compile report for `src` (the parser may legitimately report some first). */
function firstError(src: string): TsbuildError {
  try {
    compile(parse(src, { file: 'Dockerfile' }), opts(), none);
  } catch (e) {
    if (e instanceof TsbuildError) return e;
    throw e;
  }
  throw new Error(`no error for ${JSON.stringify(src)}`);
}

describe('instructions.json', () => {
  for (const [group, d] of [['exactlyOneArgument', data.exactlyOneArgument], ['atLeastOneArgument', data.atLeastOneArgument]] as const) {
    for (const name of d.inputs) {
      it(`${group}: ${name}`, () => {
        const e = firstError(`FROM scratch\n${name}\n`);
        expect(e.message).toBe(d.error.replace('<CMD>', name));
        expect(e.range?.start.line).toBe(2);
      });
    }
  }
  for (const input of data.noDestination.inputs) {
    it(`noDestination: ${input}`, () => {
      expect(firstError(`FROM scratch\n${input}\n`).message).toBe(data.noDestination.error.replace('<CMD>', input.split(' ')[0]!));
    });
  }
  for (const ec of data.errorCases) {
    it(`error: ${ec.name}`, () => {
      const e = firstError(ec.dockerfile);
      expect(e.message).toContain(ec.errorContains);
      expect(e.range).toBeDefined();
    });
  }
  it('HEALTHCHECK shell form', () => {
    const g = c(`FROM scratch\nHEALTHCHECK ${data.healthcheckShellForm.chain.join(' ')}\n`);
    expect(targetStage(g).image.config.Healthcheck!.Test).toEqual(data.healthcheckShellForm.expectedTest);
  });
  it('RUN flags used', () => {
    const r = execs(c(`FROM scratch\n${data.runFlagsUsed.dockerfile}\n`))[0]!;
    expect(r.mounts).toEqual([{ type: 'tmpfs', target: '/foo' }]);
    expect(r.argv).toEqual(['/bin/sh', '-c', 'echo hello']);
  });
  for (const ch of data.copyHeredoc) {
    it(`COPY heredoc: ${JSON.stringify(ch.dockerfile)}`, () => {
      const f = files(c(`FROM scratch\n${ch.dockerfile}\n`))[0]!;
      const copies = f.actions.filter((a) => a.action === 'copy');
      const mk = f.actions.filter((a) => a.action === 'mkfile');
      expect(copies.flatMap((a) => (a.action === 'copy' ? a.sources : []))).toEqual(ch.sourcePaths.map((p) => path.posix.join('/', p)));
      expect(mk.map((a) => (a.action === 'mkfile' ? a.content : ''))).toEqual(ch.sourceContents.map((s) => s.data));
      const multi = ch.sourcePaths.length + ch.sourceContents.length > 1;
      expect(mk.map((a) => (a.action === 'mkfile' ? a.path : ''))).toEqual(ch.sourceContents.map((s) => (multi ? `${ch.dest}/${s.path}` : ch.dest)));
      for (const a of copies) if (a.action === 'copy') expect(a.dest).toBe(ch.dest);
    });
  }
  for (const rh of data.runHeredoc) {
    it(`RUN heredoc: ${JSON.stringify(rh.dockerfile)}`, () => {
      const r = execs(c(`FROM scratch\n${rh.dockerfile}\n`))[0]!;
      let expected: string[];
      if (rh.files.length === 0) expected = rh.prependShell ? ['/bin/sh', '-c', ...rh.cmdLine] : rh.cmdLine;
      else {
        const f = rh.files[0]!;
        const body = f.chomp ? f.data.replace(/^\t+/gm, '') : f.data;
        const lone = /^\d*<<-?\s*[^\s<]+$/.test(rh.cmdLine[0]!) && !rh.cmdLine[0]!.includes('|');
        expected = ['/bin/sh', '-c', lone ? body : `${rh.cmdLine[0]}\n${body}${f.name}`];
      }
      expect(r.argv).toEqual(expected);
    });
  }
});
