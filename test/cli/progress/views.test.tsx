import { describe, expect, it } from 'vitest';
import React from 'react';
import { render } from 'ink-testing-library';
import { renderToString } from 'ink';
import { BuildView, FrameWriter, LiveRegion, displayWidth, rowsAfterReflow, trimLine } from '../../../cli/progress/tty.tsx';
import { TsbuildError } from '../../../util/errors.ts';
import { initialState, reduce } from '../../../cli/progress/state.ts';
import { createPlainPrinter } from '../../../cli/progress/plain.ts';
import { createRawJsonPrinter } from '../../../cli/progress/rawjson.ts';
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

  it('a step that was not needed leaves the view, and the summary counts it', () => {
    let s = events.slice(0, 2).reduce(reduce, initialState);
    s = [
      { type: 'step-skipped', time: 1003, id: 's1' },
      { type: 'step-start', time: 1004, id: 's2' },
      { type: 'step-done', time: 2004, id: 's2', durationMs: 1000 },
      { type: 'build-done', time: 2100, durationMs: 1100, stepsRun: 1, stepsCached: 1, stepsSkipped: 1 },
    ].reduce((a, e) => reduce(a, e as ProgressEvent), s);
    expect(s.steps.map((x) => x.id)).toEqual(['s0', 's2']);
    const { lastFrame } = render(<BuildView state={s} now={2100} tick={0} />);
    expect(lastFrame()).not.toContain('RUN make');
    expect(lastFrame()).toContain('Built in 1.1s (1 run, 1 cached, 1 not needed)');
    let plain = '';
    const p = createPlainPrinter((x) => (plain += x));
    for (const e of [...events.slice(0, 2), { type: 'step-skipped', time: 1003, id: 's1' }, { type: 'build-done', time: 2100, durationMs: 1100, stepsRun: 0, stepsCached: 1, stepsSkipped: 1 }] as ProgressEvent[]) p(e);
    expect(plain).not.toContain('RUN make');
    expect(plain).toContain('(0 run, 1 cached, 1 not needed)');
    let raw = '';
    const r = createRawJsonPrinter((x) => (raw += x));
    for (const e of events.slice(0, 1)) r.emit(e);
    r.emit({ type: 'step-skipped', time: 1003, id: 's1' });
    expect(JSON.parse(raw.trim().split('\n')[1]!)).toEqual({ v: 1, type: 'vertex.skipped', time: '1970-01-01T00:00:01.003Z', id: 's1', name: '[build 2/3] RUN make' });
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
    p({ type: 'step-log', time: 1600, id: 's1', stream: 'stdout', data: 'partial' });
    p({ type: 'step-done', time: 3002, id: 's1', durationMs: 2000 });
    expect(out.split('\n')).toEqual([
      '#1 [build 1/3] FROM busybox',
      '#1 CACHED',
      '#2 [build 2/3] RUN make',
      '#3 [build 3/3] RUN test',
      '#2 0.498 compiling a',
      '#2 0.498 compiling b',
      // a last line without a newline is printed when the step ends, stamped with the time its output came in
      '#2 0.598 partial',
      '#2 DONE 2.0s',
      '',
    ]);
  });
  it('rawjson writes one v1 event per line with vertex names, RFC 3339 times and whole output lines', () => {
    let out = '';
    const p = createRawJsonPrinter((s) => (out += s));
    for (const e of events) p.emit(e);
    p.emit({ type: 'step-log', time: 1600, id: 's1', stream: 'stdout', data: 'partial' });
    p.emit({ type: 'step-done', time: 3002, id: 's1', durationMs: 2000 });
    p.emit({ type: 'step-error', time: 3100, id: 's2', message: 'exit code: 2', exitCode: 2, tail: ['boom'] });
    p.fail(new TsbuildError('build/step-failed', 'exit code: 2', { file: 'Dockerfile', range }));
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        v: 1,
        type: 'build.started',
        time: '1970-01-01T00:00:01.000Z',
        vertices: [
          { id: 's0', name: '[build 1/3] FROM busybox', kind: 'source' },
          { id: 's1', name: '[build 2/3] RUN make', kind: 'exec' },
          { id: 's2', name: '[build 3/3] RUN test', kind: 'exec' },
        ],
      },
      { v: 1, type: 'vertex.cached', time: '1970-01-01T00:00:01.001Z', id: 's0', name: '[build 1/3] FROM busybox', cached: true, completed: '1970-01-01T00:00:01.001Z' },
      { v: 1, type: 'vertex.started', time: '1970-01-01T00:00:01.002Z', id: 's1', name: '[build 2/3] RUN make', started: '1970-01-01T00:00:01.002Z' },
      { v: 1, type: 'vertex.started', time: '1970-01-01T00:00:01.002Z', id: 's2', name: '[build 3/3] RUN test', started: '1970-01-01T00:00:01.002Z' },
      { v: 1, type: 'vertex.log', time: '1970-01-01T00:00:01.500Z', id: 's1', name: '[build 2/3] RUN make', stream: 'stdout', line: 'compiling a' },
      { v: 1, type: 'vertex.log', time: '1970-01-01T00:00:01.500Z', id: 's1', name: '[build 2/3] RUN make', stream: 'stdout', line: 'compiling b' },
      { v: 1, type: 'vertex.log', time: '1970-01-01T00:00:03.002Z', id: 's1', name: '[build 2/3] RUN make', stream: 'stdout', line: 'partial' },
      {
        v: 1,
        type: 'vertex.completed',
        time: '1970-01-01T00:00:03.002Z',
        id: 's1',
        name: '[build 2/3] RUN make',
        cached: false,
        started: '1970-01-01T00:00:01.002Z',
        completed: '1970-01-01T00:00:03.002Z',
        durationMs: 2000,
      },
      {
        v: 1,
        type: 'vertex.error',
        time: '1970-01-01T00:00:03.100Z',
        id: 's2',
        name: '[build 3/3] RUN test',
        started: '1970-01-01T00:00:01.002Z',
        completed: '1970-01-01T00:00:03.100Z',
        error: 'exit code: 2',
        exitCode: 2,
        tail: ['boom'],
      },
      { v: 1, type: 'build.error', time: lines[9]!.time, code: 'build/step-failed', message: 'exit code: 2', file: 'Dockerfile', line: 2, col: 1, exitCode: 1 },
    ]);
  });
});

describe('the TTY frame writer', () => {
  const term = (columns: number, rows: number) => {
    let out = '';
    return { t: { write: (s: string) => void (out += s), columns: () => columns, rows: () => rows }, out: () => out, reset: () => void (out = '') };
  };
  it('prints static text once, moves up over exactly the previous live lines, and erases what is left', () => {
    const { t, out, reset } = term(40, 10);
    const w = new FrameWriter(t);
    w.draw('done step\n', ['running a', 'running b']);
    expect(out()).toBe('\x1b[?2026h\x1b[?25ldone step\x1b[K\nrunning a\x1b[K\nrunning b\x1b[K\n\x1b[J\x1b[?2026l');
    reset();
    w.draw('', ['running a', 'running b']);
    expect(out(), 'an unchanged frame is not rewritten').toBe('');
    w.draw('b done\n', ['running a']);
    expect(out()).toBe('\x1b[?2026h\x1b[2Fb done\x1b[K\nrunning a\x1b[K\n\x1b[J\x1b[?2026l');
    reset();
    w.finish('Built\n');
    expect(out()).toBe('\x1b[?2026h\x1b[1FBuilt\x1b[K\n\x1b[J\x1b[?2026l\x1b[?25h');
  });
  it('repaints from the top after a resize with the latest static lines that fit', () => {
    const { t, out, reset } = term(20, 4);
    const w = new FrameWriter(t);
    w.draw('one\ntwo\nthree\n', ['live']);
    reset();
    w.redraw(['live']);
    expect(out()).toBe('\x1b[?2026h\x1b[Htwo\x1b[K\nthree\x1b[K\nlive\x1b[K\n\x1b[J\x1b[?2026l');
  });
  it('measures display width without escape codes and with wide characters', () => {
    expect(displayWidth('\x1b[32m✔\x1b[39m ok')).toBe(4);
    expect(displayWidth('日本')).toBe(4);
    expect(rowsAfterReflow([0, 10, 11, 25], 10)).toBe(1 + 1 + 2 + 3);
    expect(trimLine('abc   ')).toBe('abc');
    expect(trimLine('\x1b[2mabc \x1b[22m  ')).toBe('\x1b[2mabc\x1b[0m');
  });
  it('keeps the live region within the screen: output lines first, then waiting steps collapse', () => {
    const many: ProgressEvent[] = [
      { type: 'build-start', time: 0, steps: Array.from({ length: 12 }, (_, i) => ({ id: `x${i}`, description: `RUN step ${i}`, origin: { ...origin(i + 1, `RUN step ${i}`), instructionCount: 12 }, kind: 'exec' as const })) },
      { type: 'step-start', time: 0, id: 'x0' },
      { type: 'step-log', time: 0, id: 'x0', stream: 'stdout', data: 'l1\nl2\nl3\nl4\n' },
    ];
    const s = many.reduce(reduce, initialState);
    const frame = renderToString(<LiveRegion state={s} now={1000} tick={0} maxRows={6} />, { columns: 60 });
    expect(frame.split('\n').map((l) => l.trimEnd())).toEqual([
      '⠋ [build 1/12] RUN step 0 1.0s',
      '    l2',
      '    l3',
      '    l4',
      '  [build 2/12] RUN step 1',
      '  … 10 more waiting',
    ]);
  });
});
