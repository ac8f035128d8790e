import { describe, expect, it } from 'vitest';
import React from 'react';
import { render } from 'ink-testing-library';
import { BuildView } from '../../../cli/progress/tty.tsx';
import { initialState, reduce } from '../../../cli/progress/state.ts';
import { createPlainPrinter, createRawJsonPrinter } from '../../../cli/progress/plain.ts';
import type { ProgressEvent } from '../../../executor/progress.ts';

const range = { start: { line: 2, col: 1, offset: 10 }, end: { line: 2, col: 20, offset: 29 } };
const origin = (i: number, text: string) => ({ range, stage: 'build', stageIndex: 0, instructionIndex: i, instructionCount: 3, text });

const events: ProgressEvent[] = [
  {
    type: 'build-start',
    time: 1000,
    steps: [
      { id: 's0', description: 'FROM busybox', origin: origin(1, 'FROM busybox'), kind: 'source' },
      { id: 's1', description: 'RUN make', origin: origin(2, 'RUN make'), kind: 'exec' },
      { id: 's2', description: 'RUN test', origin: origin(3, 'RUN test'), kind: 'exec' },
    ],
  },
  { type: 'step-cached', time: 1001, id: 's0' },
  { type: 'step-start', time: 1002, id: 's1' },
  { type: 'step-start', time: 1002, id: 's2' },
  { type: 'step-log', time: 1500, id: 's1', stream: 'stdout', data: 'compiling a\ncompiling b\n' },
];

describe('progress state and ink view', () => {
  it('folds events into step states', () => {
    const s = events.reduce(reduce, initialState);
    expect(s.steps.map((x) => [x.id, x.status])).toEqual([
      ['s0', 'cached'],
      ['s1', 'running'],
      ['s2', 'running'],
    ]);
    expect(s.steps[1]!.lastLines).toEqual(['compiling a', 'compiling b']);
  });

  it('renders parallel running steps with their last output lines, then the summary', () => {
    let s = events.reduce(reduce, initialState);
    const { lastFrame, rerender } = render(<BuildView state={s} now={3002} tick={0} />);
    const frame = lastFrame()!;
    expect(frame).toContain('[build 1/3] FROM busybox CACHED');
    expect(frame).toMatch(/⠋ \[build 2\/3\] RUN make 2\.0s/);
    expect(frame).toMatch(/⠋ \[build 3\/3\] RUN test 2\.0s/);
    expect(frame).toContain('    compiling b');

    s = [
      { type: 'step-done', time: 4000, id: 's1', durationMs: 2998 },
      { type: 'step-error', time: 4100, id: 's2', message: 'exit code 2', exitCode: 2, tail: ['test failed'] },
      { type: 'build-done', time: 4200, durationMs: 3200, stepsRun: 2, stepsCached: 1, imageId: 'sha256:abc', size: 1234 },
    ].reduce((a, e) => reduce(a, e as ProgressEvent), s);
    rerender(<BuildView state={s} now={4200} tick={1} />);
    const out = lastFrame()!;
    expect(out).toContain('✔ [build 2/3] RUN make DONE 3.0s');
    expect(out).toContain('✘ [build 3/3] RUN test ERROR: exit code 2');
    expect(out).toContain('Built in 3.2s (2 run, 1 cached) sha256:abc 1.23kB');
  });
});

describe('plain and rawjson printers', () => {
  it('prints one line per event with step numbers, output and timings', () => {
    let out = '';
    const p = createPlainPrinter((s) => (out += s));
    for (const e of events) p(e);
    p({ type: 'step-done', time: 3002, id: 's1', durationMs: 2000 });
    expect(out.split('\n')).toEqual([
      '#1 [build 1/3] FROM busybox',
      '#1 CACHED',
      '#2 [build 2/3] RUN make',
      '#3 [build 3/3] RUN test',
      '#2 0.498 compiling a',
      '#2 0.498 compiling b',
      '#2 DONE 2.0s',
      '',
    ]);
  });
  it('rawjson writes one parseable event per line', () => {
    let out = '';
    const p = createRawJsonPrinter((s) => (out += s));
    for (const e of events) p(e);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.type)).toEqual(['build-start', 'step-cached', 'step-start', 'step-start', 'step-log']);
  });
});
