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

function fakeRunner(opts: { cached?: Set<string>; fail?: string; delay?: number; lookupNeeds?: Record<string, string[]>; lookupDelay?: Record<string, number>; keyDelay?: Record<string, number> } = {}) {
  const log: string[] = [];
  const keyed: string[] = [];
  const looked: string[] = [];
  const done = new Set<string>();
  let running = 0;
  let maxRunning = 0;
  const runner: StepRunner<string> = {
    async key(step, inputKeys) {
      keyed.push(step.id);
      if (opts.keyDelay?.[step.id] !== undefined) {
        await sleep(opts.keyDelay[step.id]!);
        log.push(`keyed ${step.id}`);
      }
      return `${step.id}(${inputKeys.join(',')})` as CacheKey;
    },
    async lookup(step) {
      looked.push(step.id);
      await sleep(opts.lookupDelay?.[step.id] ?? 0);
      for (const n of opts.lookupNeeds?.[step.id] ?? []) if (!done.has(n)) throw new Error(`lookup of ${step.id} before ${n} was resolved`);
      if (!opts.cached?.has(step.id)) return undefined;
      done.add(step.id);
      return `cached:${step.id}`;
    },
    ...(opts.lookupNeeds ? { lookupNeeds: (step: Step) => (opts.lookupNeeds![step.id] ?? []).map(stepId) } : {}),
    async run(step, inputs, _key, signal) {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${step.id}`);
      try {
        await sleep(opts.delay ?? 20);
        if (signal.aborted) throw new Error(`aborted ${step.id}`);
        if (opts.fail === step.id) throw new Error(`boom ${step.id}`);
        done.add(step.id);
        return `${step.id}[${inputs.join(',')}]`;
      } finally {
        running--;
        log.push(`end ${step.id}`);
      }
    },
  };
  return { runner, log, keyed, looked, maxRunning: () => maxRunning };
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

  it('resolves only what the roots need: a hit needs its inputs\' keys, not their results', async () => {
    // builder: a → b; image: c (uses b, like COPY --from=builder) → d
    const g = graphOf({ a: [], b: ['a'], c: ['b'], d: ['c'] });
    const events: ProgressEvent[] = [];
    // (c's lookup is the slow one: d's outcome still comes after it)
    const f = fakeRunner({ cached: new Set(['c', 'd']), lookupDelay: { c: 40 } });
    const out = await schedule(g, f.runner, { parallelism: 2, emit: (e) => events.push(e), roots: [stepId('d'), stepId('c')] });
    expect(f.log).toEqual([]);
    expect([...f.keyed].sort()).toEqual(['a', 'b', 'c', 'd']);
    // a and b are looked up (a hit would be reported CACHED) but, being misses nothing needs, never run
    expect([...f.looked].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect([...out.keys()].sort()).toEqual(['c', 'd']);
    expect(out.get(stepId('d'))!.key).toBe('d(c(b(a())))');
    // roots come out in dependency order; the steps nothing needed are reported last
    expect(events.map((e) => `${e.type}:${'id' in e ? e.id : ''}`)).toEqual(['step-cached:c', 'step-cached:d', 'step-skipped:a', 'step-skipped:b']);
    // when the builder's entries are there, they are reported CACHED (as BuildKit does), still without running
    const all = fakeRunner({ cached: new Set(['a', 'b', 'c', 'd']) });
    const ev2: ProgressEvent[] = [];
    await schedule(g, all.runner, { parallelism: 2, emit: (e) => ev2.push(e), roots: [stepId('c'), stepId('d')] });
    expect(ev2.map((e) => `${e.type}:${'id' in e ? e.id : ''}`)).toEqual(['step-cached:a', 'step-cached:b', 'step-cached:c', 'step-cached:d']);
  });

  it('a root that misses pulls in its inputs, and they in turn stop at hits', async () => {
    const g = graphOf({ a: [], b: ['a'], c: ['b'], d: ['c'] });
    const f = fakeRunner({ cached: new Set(['b']) });
    const out = await schedule(g, f.runner, { parallelism: 2, emit: () => {}, roots: [stepId('d')] });
    expect(f.log).toEqual(['start c', 'end c', 'start d', 'end d']);
    expect(out.get(stepId('d'))!.result).toBe('d[c[cached:b]]');
    expect(out.has(stepId('a'))).toBe(false);
  });

  it('a step that must not use the cache runs even when what uses it is a hit (--no-cache-filter)', async () => {
    const g = graphOf({ a: [], b: ['a'], c: ['b'] });
    const f = fakeRunner({ cached: new Set(['a', 'b', 'c']) });
    await schedule(g, f.runner, { parallelism: 2, emit: () => {}, roots: [stepId('c')], bypassCache: (s) => s.id === 'b' });
    expect(f.log).toEqual(['start b', 'end b']);
  });

  it('a lookup waits for the inputs the runner says it needs (a COPY --link hit is stacked on its base)', async () => {
    const g = graphOf({ base: [], link: ['base'] });
    const f = fakeRunner({ cached: new Set(['link']), lookupNeeds: { link: ['base'] } });
    const out = await schedule(g, f.runner, { parallelism: 2, emit: () => {}, roots: [stepId('link')] });
    expect(f.log).toEqual(['start base', 'end base']);
    expect(out.get(stepId('link'))!.cached).toBe(true);
  });

  it('needed steps of other stages run concurrently even when the roots that need them form a chain', async () => {
    // final stage: base → ca (COPY --from=a) → cb (COPY --from=b); stages a and b are independent
    const g = graphOf({ base: [], a: [], b: [], ca: ['base', 'a'], cb: ['ca', 'b'] });
    const f = fakeRunner({ delay: 40 });
    await schedule(g, f.runner, { parallelism: 4, emit: () => {}, roots: [stepId('base'), stepId('ca'), stepId('cb')] });
    expect(f.log.indexOf('start b')).toBeLessThan(f.log.indexOf('end a'));
    expect(f.log.indexOf('end cb')).toBe(f.log.length - 1);
  });

  it('a needed step runs without waiting for the keys of steps it does not depend on (no barrier)', async () => {
    // `slow` stands for a COPY of a large context in another stage: hashing it must not hold up `a`
    const g = graphOf({ a: [], slow: [], c: ['a', 'slow'] });
    const f = fakeRunner({ keyDelay: { slow: 150 }, delay: 20 });
    await schedule(g, f.runner, { parallelism: 2, emit: () => {}, roots: [stepId('a'), stepId('c')] });
    expect(f.log.indexOf('start a')).toBeLessThan(f.log.indexOf('keyed slow'));
    expect(f.log.at(-1)).toBe('end c');
  });
});
