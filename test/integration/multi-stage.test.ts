/**
 * Multi-stage builds through the CLI: COPY --from by name and by index, --target pruning the stages the target does
 * not need, and independent stages running at the same time.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRig, plainSteps, ranSteps, type Rig } from './helpers.ts';

let rig: Rig;
beforeAll(async () => {
  rig = await makeRig();
});
afterAll(() => rig?.cleanup());

describe('multi-stage builds', () => {
  it('COPY --from=NAME and COPY --from=INDEX copy files made by earlier stages', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox',
        'RUN echo from-index-zero > /zero.txt',
        '',
        'FROM busybox AS named',
        'RUN mkdir -p /out/sub && echo from-named > /out/sub/n.txt',
        '',
        'FROM busybox',
        'COPY --from=0 /zero.txt /result/zero.txt',
        'COPY --from=named /out/ /result/',
        'RUN cat /result/zero.txt /result/sub/n.txt',
        '',
      ].join('\n'),
    });
    const out = await mkdtemp(path.join(rig.dir, 'local-'));
    const r = await rig.ok(['build', '--progress', 'plain', '-o', `type=local,dest=${out}`, ctx]);
    expect(plainSteps(r.stderr).find((s) => s.label.endsWith('RUN cat /result/zero.txt /result/sub/n.txt'))?.logs).toEqual([
      'from-index-zero',
      'from-named',
    ]);
    expect(await readFile(path.join(out, 'result/zero.txt'), 'utf8')).toBe('from-index-zero\n');
    expect(await readFile(path.join(out, 'result/sub/n.txt'), 'utf8')).toBe('from-named\n');
    // Only the final stage's files are exported: the other stages' files are not in it.
    await expect(readFile(path.join(out, 'zero.txt'))).rejects.toThrow(/ENOENT/);
    await expect(readFile(path.join(out, 'out/sub/n.txt'))).rejects.toThrow(/ENOENT/);
  });

  it('--target builds only the stages the target needs', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox AS base',
        'RUN echo marker-target-base > /base',
        '',
        'FROM base AS unneeded',
        'RUN echo marker-target-unneeded-ran',
        '',
        'FROM busybox AS helper',
        'RUN echo marker-target-helper > /helper',
        '',
        'FROM base AS wanted',
        'COPY --from=helper /helper /helper',
        'RUN echo marker-target-wanted-ran',
        '',
        'FROM wanted AS after',
        'RUN echo marker-target-after-ran',
        '',
      ].join('\n'),
    });
    const r = await rig.ok(['build', '--progress', 'plain', '--target', 'wanted', '-t', 'target-wanted', ctx]);
    const ran = ranSteps(r.stderr);
    expect(ran.sort()).toEqual(
      [
        'RUN echo marker-target-base > /base',
        'RUN echo marker-target-helper > /helper',
        'COPY --from=helper /helper /helper',
        'RUN echo marker-target-wanted-ran',
      ].sort(),
    );
    // Neither the unneeded stage nor the stage after the target printed anything or appeared at all.
    expect(r.stderr).not.toContain('marker-target-unneeded-ran');
    expect(r.stderr).not.toContain('marker-target-after-ran');
    // The image is the target stage's.
    const run = await rig.ok(['run', '--rm', 'target-wanted', 'cat', '/base', '/helper']);
    expect(run.stdout).toBe('marker-target-base\nmarker-target-helper\n');
    // An unknown target is an error naming the stages.
    const bad = await rig.cli(['build', '--progress', 'plain', '--target', 'wantd', ctx]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/wantd/);
    expect(bad.stderr).toMatch(/wanted/);
    expect(bad.stderr).not.toMatch(/^\s+at /m);
  });

  it('independent stages run concurrently (-j 2: two stages of sleep 2 take < 3.5 s)', async () => {
    const ctx = await rig.context({
      Dockerfile: [
        'FROM busybox AS a',
        'RUN sleep 2 && echo marker-par-a > /a',
        '',
        'FROM busybox AS b',
        'RUN sleep 2 && echo marker-par-b > /b',
        '',
        'FROM busybox',
        'COPY --from=a /a /a',
        'COPY --from=b /b /b',
        '',
      ].join('\n'),
    });
    const t0 = Date.now();
    const r = await rig.ok(['build', '--progress', 'rawjson', '-j', '2', ctx]);
    const wall = (Date.now() - t0) / 1000;
    const sleeps = runIntervals(r.stderr, 'sleep 2');
    expect(sleeps).toHaveLength(2);
    // Each sleep started before the other one finished: they overlapped.
    expect(sleeps[0]!.start).toBeLessThan(sleeps[1]!.end);
    expect(sleeps[1]!.start).toBeLessThan(sleeps[0]!.end);
    // The engine's own wall time (build start to done, what "Built in" prints) stays under 3.5 s; the process's
    // wall time adds Node's start-up (~0.5 s, more on a loaded machine), so it gets a looser bound.
    const done = events(r.stderr).find((e) => e.type === 'build.completed');
    expect(done?.durationMs).toBeLessThan(3500);
    expect(wall).toBeLessThan(6);
    // The same shape with -j 1 serialises the two sleeps: the limit is real.
    const ctx1 = await rig.context({
      Dockerfile: 'FROM busybox AS a\nRUN sleep 1 && echo serial-a\nFROM busybox AS b\nRUN sleep 1 && echo serial-b\nFROM busybox\nCOPY --from=a /etc/passwd /a\nCOPY --from=b /etc/passwd /b\n',
    });
    const r1 = await rig.ok(['build', '--progress', 'rawjson', '-j', '1', ctx1]);
    const serial = runIntervals(r1.stderr, 'sleep 1').sort((x, y) => x.start - y.start);
    expect(serial).toHaveLength(2);
    expect(serial[1]!.start).toBeGreaterThanOrEqual(serial[0]!.end);
  });
});

/** One line of `--progress rawjson` (schema v1: build.started, vertex.started/completed, build.completed). */
interface RawEvent {
  readonly type: string;
  readonly id?: string;
  readonly name?: string;
  readonly started?: string;
  readonly completed?: string;
  readonly durationMs?: number;
}

function events(raw: string): RawEvent[] {
  return raw
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as RawEvent);
}

/** Start and end times (ms since the epoch) of the steps whose name contains `needle`, from rawjson progress. */
function runIntervals(raw: string, needle: string): { start: number; end: number }[] {
  const done = events(raw).filter((e) => e.type === 'vertex.completed' && (e.name ?? '').includes(needle));
  if (done.length === 0) throw new Error(`no completed step matching "${needle}" in:\n${raw}`);
  return done.map((e) => ({ start: Date.parse(e.started!), end: Date.parse(e.completed!) }));
}
