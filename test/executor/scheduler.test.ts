import { describe, expect, it } from 'vitest';
import { schedule, type StepRunner } from '../../executor/scheduler.ts';
import type { BuildGraph, CacheKey, Step, StepId } from '../../compiler/graph.ts';
import { stepId } from '../../compiler/graph.ts';
import type { ProgressEvent } from '../../executor/progress.ts';
import type { Digest } from '../../util/digest.ts';

function graphOf(edges: Record<string, string[]>): BuildGraph {
  const steps = new Map<StepId, Step>();
  for (const [id, inputs] of Object.entries(edges)) {
    steps.set(stepId(id), {
      kind: 'file',
      id: stepId(id),
      inputs: inputs.map(stepId),
      definitionDigest: `sha256:${'0'.repeat(64)}` as Digest,
      contextSelectors: [],
      description: id,
      actions: [],
    });
  }
  return { steps, stages: [], target: 0, warnings: [] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeRunner(opts: { cached?: Set<string>; fail?: string; delay?: number } = {}) {
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const runner: StepRunner<string> = {
    async key(step, inputKeys) {
      return `${step.id}(${inputKeys.join(',')})` as CacheKey;
    },
    async lookup(step) {
      return opts.cached?.has(step.id) ? `cached:${step.id}` : undefined;
    },
    async run(step, inputs, _key, signal) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${step.id}`);
      try {
        await sleep(opts.delay ?? 20);
        if (signal.aborted) throw new Error(`aborted ${step.id}`);
        if (opts.fail === step.id) throw new Error(`boom ${step.id}`);
        return `${step.id}[${inputs.join(',')}]`;
      } finally {
        running--;
        log.push(`end ${step.id}`);
      }
    },
  };
  return { runner, log, maxRunning: () => maxRunning };
}

describe('schedule', () => {
  it('runs inputs before users and passes their results and keys', async () => {
    const g = graphOf({ a: [], b: ['a'], c: ['a', 'b'] });
    const { runner, log } = fakeRunner();
    const out = await schedule(g, runner, { parallelism: 4, emit: () => {} });
    expect(out.get(stepId('c'))!.result).toBe('c[a[],b[a[]]]');
    expect(out.get(stepId('c'))!.key).toBe('c(a(),b(a()))');
    expect(log.indexOf('end a')).toBeLessThan(log.indexOf('start b'));
    expect(log.indexOf('end b')).toBeLessThan(log.indexOf('start c'));
  });

  it('overlaps independent steps up to the parallelism limit', async () => {
    const g = graphOf({ a: [], b: [], c: [], d: [], e: ['a', 'b', 'c', 'd'] });
    const four = fakeRunner({ delay: 40 });
    await schedule(g, four.runner, { parallelism: 4, emit: () => {} });
    expect(four.maxRunning()).toBe(4);
    const two = fakeRunner({ delay: 40 });
    await schedule(g, two.runner, { parallelism: 2, emit: () => {} });
    expect(two.maxRunning()).toBe(2);
  });

  it('reports cache hits and does not run them unless bypassed', async () => {
    const g = graphOf({ a: [], b: ['a'] });
    const events: ProgressEvent[] = [];
    const { runner, log } = fakeRunner({ cached: new Set(['a']) });
    const out = await schedule(g, runner, { parallelism: 2, emit: (e) => events.push(e) });
    expect(out.get(stepId('a'))!.cached).toBe(true);
    expect(out.get(stepId('b'))!.result).toBe('b[cached:a]');
    expect(log).toEqual(['start b', 'end b']);
    expect(events.map((e) => `${e.type}:${'id' in e ? e.id : ''}`)).toEqual(['step-cached:a', 'step-start:b', 'step-done:b']);

    const bypass = fakeRunner({ cached: new Set(['a']) });
    await schedule(g, bypass.runner, { parallelism: 2, emit: () => {}, bypassCache: (s) => s.id === 'a' });
    expect(bypass.log).toContain('start a');
  });

  it('stops at the first failure and does not start dependants', async () => {
    const g = graphOf({ a: [], bad: ['a'], after: ['bad'], other: [] });
    const { runner, log } = fakeRunner({ fail: 'bad' });
    await expect(schedule(g, runner, { parallelism: 1, emit: () => {} })).rejects.toThrow('boom bad');
    expect(log).not.toContain('start after');
  });
});
