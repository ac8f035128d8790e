import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, toJson } from '../../grammar/index.ts';
import { repoRoot } from './helpers.ts';

/**
 * Golden JSON ASTs: test/grammar/golden/<name>.Dockerfile → <name>.json. Regenerate with
 * `UPDATE_GOLDEN=1 npm run test:unit -- test/grammar/golden.test.ts` and review the diff.
 */
const dir = path.join(repoRoot, 'test/grammar/golden');
const cases = readdirSync(dir).filter((f) => f.endsWith('.Dockerfile')).sort();

describe('golden JSON ASTs', () => {
  it('has cases', () => expect(cases.length).toBeGreaterThanOrEqual(4));
  it.each(cases)('%s', (name) => {
    const text = readFileSync(path.join(dir, name), 'utf8');
    const json = toJson(parse(text, { file: name }));
    const goldenPath = path.join(dir, name.replace(/\.Dockerfile$/, '.json'));
    if (process.env.UPDATE_GOLDEN || !existsSync(goldenPath)) {
      if (!process.env.UPDATE_GOLDEN) throw new Error(`missing golden file ${goldenPath}; run with UPDATE_GOLDEN=1`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(goldenPath + '.tmp', json);
      renameSync(goldenPath + '.tmp', goldenPath);
    }
    expect(json).toBe(readFileSync(goldenPath, 'utf8'));
  });
});
