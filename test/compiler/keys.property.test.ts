/**
 * Cache keys are stable under irrelevant edits (comments, continuation reformatting, an ARG nothing uses) and
 * change under relevant ones (RUN text, an ARG a RUN sees, the base image digest, COPY flags).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, digestOf } from '../../util/digest.ts';
import { planKeys } from '../../cli/commands/plan.ts';
import type { BuildGraph, ContextSelector } from '../../compiler/graph.ts';
import { c, images } from './helpers.ts';

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
type Line = { kind: 'RUN' | 'COPY' | 'ENV' | 'WORKDIR' | 'LABEL' | 'USER'; a: string; b: string };
const line: fc.Arbitrary<Line> = fc.record({ kind: fc.constantFrom('RUN', 'COPY', 'ENV', 'WORKDIR', 'LABEL', 'USER'), a: word, b: word });
const program = fc.record({ base: fc.constantFrom('alpine', 'scratch', 'debian:12'), lines: fc.array(line, { minLength: 1, maxLength: 8 }) });

function text(l: Line, split = false): string {
  const sp = split ? ' \\\n' : ' ';
  switch (l.kind) {
    case 'RUN':
      return `RUN echo${sp}${l.a} ${l.b}`;
    case 'COPY':
      return `COPY${sp}${l.a} /${l.b}/`;
    case 'ENV':
      return `ENV ${l.a}=${l.b}`;
    case 'WORKDIR':
      return `WORKDIR /${l.a}`;
    case 'LABEL':
      return `LABEL ${l.a}=${l.b}`;
    case 'USER':
      return `USER ${l.a}`;
  }
}

const fakeContent = async (sel: ContextSelector): Promise<string> => digestOf(canonicalJson({ include: sel.include, exclude: sel.exclude }));
const resolver = (digestSalt: string) => images({ 'docker.io/library/alpine:latest': { Env: [`SALT=${digestSalt}`] }, 'docker.io/library/debian:12': {} });

/** Keys of the target stage's steps, in order, by step description (ids may shift, keys must not). */
async function keys(g: BuildGraph): Promise<string[]> {
  const k = await planKeys(g, fakeContent);
  return [...g.steps.values()].filter((s) => s.kind !== 'source').map((s) => k.get(s.id)!);
}
const build = (src: string, salt = 'a') => c(src, {}, resolver(salt));
const file = (p: { base: string; lines: Line[] }, render: (l: Line, i: number) => string = (l) => text(l), pre = '') => `${pre}FROM ${p.base}\n${p.lines.map(render).join('\n')}\n`;

describe('cache key properties', () => {
  it('stable: comments, continuation reformatting, an unused global ARG', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.array(fc.nat(), { maxLength: 4 }), async (p, where) => {
        const base = await keys(build(file(p)));
        const commented = file(p, (l, i) => (where.includes(i) ? `# note ${i}\n${text(l)}` : text(l)));
        expect(await keys(build(commented))).toEqual(base);
        expect(await keys(build(file(p, (l) => text(l, true))))).toEqual(base);
        expect(await keys(build(file(p, (l) => text(l), 'ARG UNUSED_GLOBAL=1\n')))).toEqual(base);
      }),
      { numRuns: 60 },
    );
  });
  it('changes: RUN text changes that RUN and everything after it', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.nat(), async (p, n) => {
        const runs = p.lines.map((l, i) => (l.kind === 'RUN' ? i : -1)).filter((i) => i >= 0);
        fc.pre(runs.length > 0);
        const at = runs[n % runs.length]!;
        const before = await keys(build(file(p)));
        const after = await keys(build(file(p, (l, i) => (i === at ? `RUN echo ${l.a} ${l.b}X` : text(l)))));
        const stepIndex = p.lines.slice(0, at).filter((l) => ['RUN', 'COPY', 'WORKDIR'].includes(l.kind)).length;
        expect(after.slice(0, stepIndex)).toEqual(before.slice(0, stepIndex));
        for (let i = stepIndex; i < after.length; i++) expect(after[i]).not.toBe(before[i]);
      }),
      { numRuns: 60 },
    );
  });
  it('changes: an ARG changes later RUN keys but not the COPY/WORKDIR steps before the first RUN', async () => {
    await fc.assert(
      fc.asyncProperty(program, async (p) => {
        fc.pre(p.lines.some((l) => l.kind === 'RUN'));
        const g1 = build(file(p));
        const g2 = build(file({ ...p, lines: [{ kind: 'USER', a: '__ARG__', b: '' }, ...p.lines] }, (l) => (l.a === '__ARG__' ? 'ARG SEEN=1' : text(l))));
        const k1 = await keys(g1);
        const k2 = await keys(g2);
        const kinds = [...g1.steps.values()].filter((s) => s.kind !== 'source').map((s) => s.kind);
        const firstRun = kinds.indexOf('exec');
        expect(k2.slice(0, firstRun)).toEqual(k1.slice(0, firstRun));
        expect(k2[firstRun]).not.toBe(k1[firstRun]);
      }),
      { numRuns: 60 },
    );
  });
  it('changes: the base image digest changes every key', async () => {
    await fc.assert(
      fc.asyncProperty(program, async (p) => {
        fc.pre(p.base === 'alpine');
        const a = await keys(build(file(p), 'one'));
        const b = await keys(build(file(p), 'two'));
        a.forEach((k, i) => expect(b[i]).not.toBe(k));
      }),
      { numRuns: 40 },
    );
  });
  it('changes: COPY flags change the COPY key', async () => {
    await fc.assert(
      fc.asyncProperty(program, fc.constantFrom('--chmod=0755', '--chown=1:1', '--link', '--exclude=*.md'), async (p, flag) => {
        const at = p.lines.findIndex((l) => l.kind === 'COPY');
        fc.pre(at >= 0);
        const render = (l: Line, i: number) => (i === at ? `COPY ${flag} ${l.a} /${l.b}/` : text(l));
        const g1 = build(file(p));
        const g2 = build(file(p, render));
        const idx = [...g1.steps.values()].filter((s) => s.kind !== 'source').findIndex((s) => s.kind === 'file' && s.actions.some((a) => a.action === 'copy'));
        expect((await keys(g2))[idx]).not.toBe((await keys(g1))[idx]);
      }),
      { numRuns: 40 },
    );
  });
});
