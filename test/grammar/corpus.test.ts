import { describe, expect, it } from 'vitest';
import { parse } from '../../grammar/index.ts';
import { corpusDockerfiles } from './helpers.ts';

const files = corpusDockerfiles();

describe('real-world corpus (MANIFEST.tsv kind=dockerfile)', () => {
  it('has the corpus', () => expect(files.length).toBeGreaterThanOrEqual(300));
  it.each(files.map((f) => [f.name, f] as const))('%s parses', (name, f) => {
    const df = parse(f.text, { file: name });
    expect(df.instructions.length).toBeGreaterThan(0);
    expect(df.instructions[0]!.kind === 'FROM' || df.instructions.some((i) => i.kind === 'FROM')).toBe(true);
  });
});
