/**
 * Golden plans (text and JSON) for a few Dockerfiles under test/compiler/golden/<case>/.
 * Regenerate with `UPDATE_GOLDEN=1 npm run test:unit -- test/compiler/golden.test.ts`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from '../../grammar/index.ts';
import { compile } from '../../compiler/index.ts';
import { renderPlan } from '../../cli/commands/plan.ts';
import { none, opts, repoRoot } from './helpers.ts';

const dir = path.join(repoRoot, 'test/compiler/golden');
const update = process.env.UPDATE_GOLDEN === '1';

describe('golden plans', () => {
  for (const name of readdirSync(dir).sort()) {
    for (const format of ['text', 'json'] as const) {
      it(`${name} (${format})`, async () => {
        const src = readFileSync(path.join(dir, name, 'Dockerfile'), 'utf8');
        const graph = compile(parse(src, { file: 'Dockerfile' }), opts({ buildArgs: new Map([['VERSION', '2.0']]) }), none);
        const out = await renderPlan(graph, format);
        // Byte-identical for the same inputs.
        expect(await renderPlan(compile(parse(src, { file: 'Dockerfile' }), opts({ buildArgs: new Map([['VERSION', '2.0']]) }), none), format)).toBe(out);
        const golden = path.join(dir, name, format === 'text' ? 'plan.txt' : 'plan.json');
        if (update || !existsSync(golden)) {
          if (!update) throw new Error(`missing golden file ${golden}; run with UPDATE_GOLDEN=1`);
          writeFileSync(golden, out);
        }
        expect(out).toBe(readFileSync(golden, 'utf8'));
      });
    }
  }
});
