/**
 * The progress view's state, folded from progress events by a pure reducer so the ink view only renders it (and
 * tests can assert the state as well as the frames).
 */
import type { ProgressEvent, StepInfo } from '../../executor/progress.ts';
import { stepLabel } from './plain.ts';

export type StepStatus = 'waiting' | 'running' | 'cached' | 'done' | 'error';

export interface StepView {
  readonly id: string;
  readonly label: string;
  readonly status: StepStatus;
  readonly startedAt?: number;
  readonly durationMs?: number;
  /** The last few output lines while running (or at failure). */
  readonly lastLines: readonly string[];
  readonly error?: string;
}

export interface ViewState {
  readonly steps: readonly StepView[];
  readonly warnings: readonly string[];
  readonly startedAt?: number;
  readonly summary?: { durationMs: number; imageId?: string; size?: number; stepsRun: number; stepsCached: number; stepsSkipped?: number };
  readonly exportMessages: readonly string[];
}

export const initialState: ViewState = { steps: [], warnings: [], exportMessages: [] };

const LAST_LINES = 5;

function update(state: ViewState, id: string, f: (s: StepView) => StepView): ViewState {
  let found = false;
  const steps = state.steps.map((s) => {
    if (s.id !== id) return s;
    found = true;
    return f(s);
  });
  if (!found) steps.push(f({ id, label: id, status: 'waiting', lastLines: [] }));
  return { ...state, steps };
}

export function reduce(state: ViewState, e: ProgressEvent): ViewState {
  switch (e.type) {
    case 'build-start':
      return {
        ...state,
        startedAt: e.time,
        steps: e.steps.filter((s: StepInfo) => s.kind !== 'source' || s.origin).map((s) => ({ id: s.id, label: stepLabel(s), status: 'waiting', lastLines: [] })),
      };
    case 'warning':
      return { ...state, warnings: [...state.warnings, `${e.diagnostic.code}: ${e.diagnostic.message}${e.diagnostic.range ? ` (line ${e.diagnostic.range.start.line})` : ''}`] };
    case 'step-start':
      return update(state, e.id, (s) => ({ ...s, status: 'running', startedAt: e.time }));
    case 'step-cached':
      return update(state, e.id, (s) => ({ ...s, status: 'cached' }));
    case 'step-skipped':
      // not needed: it leaves the view (it was only ever waiting)
      return { ...state, steps: state.steps.filter((s) => s.id !== e.id) };
    case 'step-log':
      return update(state, e.id, (s) => {
        const lines = [...s.lastLines];
        for (const p of e.data.split('\n')) if (p.trim() !== '') lines.push(p.replace(/\r/g, ''));
        return { ...s, lastLines: lines.slice(-LAST_LINES) };
      });
    case 'step-done':
      return update(state, e.id, (s) => ({ ...s, status: 'done', durationMs: e.durationMs }));
    case 'step-error':
      return update(state, e.id, (s) => ({ ...s, status: 'error', error: e.message, lastLines: e.tail.slice(-LAST_LINES) }));
    case 'export':
      return { ...state, exportMessages: [...state.exportMessages, e.message] };
    case 'build-done':
      return {
        ...state,
        summary: {
          durationMs: e.durationMs,
          imageId: e.imageId,
          size: e.size,
          stepsRun: e.stepsRun,
          stepsCached: e.stepsCached,
          ...(e.stepsSkipped ? { stepsSkipped: e.stepsSkipped } : {}),
        },
      };
  }
}
