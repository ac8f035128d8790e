/**
 * Every real-world Dockerfile in /work/shared/corpus/real compiles without a crash, with build args left empty:
 * the only errors allowed are TsbuildErrors, counted by code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from '../../grammar/index.ts';
import { compile } from '../../compiler/index.ts';
import { TsbuildError } from '../../util/errors.ts';
import { none, opts, sharedRoot } from './helpers.ts';

const dir = path.join(sharedRoot, 'corpus/real');
const rows = readFileSync(path.join(dir, 'MANIFEST.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t'));
const dockerfiles = rows.filter((r) => r[6] === 'dockerfile').map((r) => r[3]!);

describe('corpus/real', () => {
  it('has the Dockerfiles the manifest lists', () => {
    expect(dockerfiles.length).toBeGreaterThan(300);
  });
  it('compiles every Dockerfile (declared ARGs without defaults stay empty); only TsbuildErrors', () => {
    const errors = new Map<string, string[]>();
    let ok = 0;
    let steps = 0;
    for (const f of dockerfiles) {
      const text = readFileSync(path.join(dir, f), 'utf8');
      const df = parse(text, { file: f });
      // Give ARGs that FROM needs a value only when the file has none: an empty base name is a legitimate error.
      try {
        const g = compile(df, opts({ file: f, buildArgs: new Map([['UNUSED_ARG', 'x']]) }), none);
        steps += g.steps.size;
        ok++;
      } catch (e) {
        if (!(e instanceof TsbuildError)) throw new Error(`${f}: non-TsbuildError ${String(e)}`);
        expect(e.range, `${f}: ${e.code} without a range`).toBeDefined();
        errors.set(e.code, [...(errors.get(e.code) ?? []), `${f}: ${e.message}`]);
      }
    }
    console.log(`corpus: ${dockerfiles.length} files, ${ok} compiled (${steps} steps), errors: ${JSON.stringify(Object.fromEntries([...errors].map(([k, v]) => [k, v])), null, 1)}`);
    expect(ok + [...errors.values()].reduce((n, v) => n + v.length, 0)).toBe(dockerfiles.length);
    expect(ok).toBeGreaterThan(dockerfiles.length * 0.9);
  });
});
