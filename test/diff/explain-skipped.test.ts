/**
 * `diff --builds` on records of a lazy build: a step the build neither ran nor had cached (its stage was not needed)
 * is not a cache miss and is not reported as run.
 */
import { describe, expect, it } from 'vitest';
import type { BuildRecord, BuildRecordStep } from '../../cache/index.ts';
import { explainBuilds, renderExplanation } from '../../diff/index.ts';

const step = (id: string, description: string, stage: string, line: number, cacheKey: string, extra: Partial<BuildRecordStep> = {}): BuildRecordStep => ({
  id,
  description,
  kind: 'exec',
  cacheKey,
  cached: false,
  inputs: [],
  origin: { stage, stageIndex: stage === 'dep' ? 0 : 1, line, instructionIndex: 1 },
  ...extra,
});
const record = (id: string, steps: BuildRecordStep[]): BuildRecord => ({ version: 1, id, startedAt: '2026-11-23T00:00:00Z', steps, status: 'success' });

describe('explaining a build that skipped a stage', () => {
  it('a skipped step with the same key is no cache miss; one with a new key is UNUSED, not RAN', () => {
    const old = record('old', [step('o1', 'RUN make', 'dep', 2, 'sha256:k1'), step('o2', 'COPY --from=dep /out /', 'app', 4, 'sha256:k2')]);
    const same = record('new', [
      step('n1', 'RUN make', 'dep', 2, 'sha256:k1', { skipped: true }),
      step('n2', 'COPY --from=dep /out /', 'app', 4, 'sha256:k2', { cached: true, inputs: ['n1'] }),
    ]);
    expect(explainBuilds(old, same).steps).toEqual([]);
    // Without the skipped flag the same record reads as a step that missed the cache and ran.
    const missed = record('new', [step('n1', 'RUN make', 'dep', 2, 'sha256:k1'), same.steps[1]!]);
    expect(explainBuilds(old, missed).steps.map((s) => [s.ran, s.causes.map((c) => c.kind)])).toEqual([[true, ['cache-miss']]]);

    const changed = record('new', [
      step('n1', 'RUN make all', 'dep', 2, 'sha256:k9', { skipped: true }),
      step('n2', 'COPY --from=dep /out /', 'app', 4, 'sha256:k2', { cached: true, inputs: ['n1'] }),
    ]);
    const e = explainBuilds(old, changed);
    expect(e.steps.map((s) => ({ d: s.step.description, ran: s.ran, skipped: s.skipped }))).toEqual([{ d: 'RUN make all', ran: false, skipped: true }]);
    expect(renderExplanation(e)).toContain('\nUNUSED line 2: RUN make all');
  });
});
