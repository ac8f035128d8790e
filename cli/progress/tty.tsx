/**
 * The terminal progress view (ink): one line per step with its state, the running steps' last output lines,
 * parallel steps visible at once, and a summary. Finished steps move into ink's <Static> region, printed once
 * and never redrawn, so long builds do not flicker and a resize only reflows the few live lines.
 */
import React, { useEffect, useState } from 'react';
import { render, Box, Static, Text } from 'ink';
import type { ProgressEvent } from '../../executor/progress.ts';
import type { Io } from '../command.ts';
import { initialState, reduce, type StepView, type ViewState } from './state.ts';
import { formatDuration, formatSize } from './plain.ts';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function useTick(active: boolean): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setTick((x) => x + 1), 100);
    return () => clearInterval(t);
  }, [active]);
  return tick;
}

export function StepLine({ step, now, tick }: { step: StepView; now: number; tick: number }): React.ReactElement {
  switch (step.status) {
    case 'waiting':
      return (
        <Text dimColor>
          {'  '} {step.label}
        </Text>
      );
    case 'running':
      return (
        <Text>
          <Text color="cyan">{SPINNER[tick % SPINNER.length]}</Text> {step.label}{' '}
          <Text dimColor>{formatDuration(now - (step.startedAt ?? now))}</Text>
        </Text>
      );
    case 'cached':
      return (
        <Text>
          <Text color="blue">✔</Text> {step.label} <Text color="blue">CACHED</Text>
        </Text>
      );
    case 'done':
      return (
        <Text>
          <Text color="green">✔</Text> {step.label} <Text dimColor>DONE {formatDuration(step.durationMs ?? 0)}</Text>
        </Text>
      );
    case 'error':
      return (
        <Text>
          <Text color="red">✘</Text> {step.label} <Text color="red">ERROR</Text>
          {step.error ? <Text color="red">: {step.error}</Text> : null}
        </Text>
      );
  }
}

export function BuildView({ state, now, tick }: { state: ViewState; now: number; tick: number }): React.ReactElement {
  const finished = state.steps.filter((s) => s.status === 'done' || s.status === 'cached' || s.status === 'error');
  const live = state.steps.filter((s) => s.status === 'running' || s.status === 'waiting');
  return (
    <Box flexDirection="column">
      <Static items={[...state.warnings.map((w, i) => ({ key: `w${i}`, w })), ...finished.map((s) => ({ key: s.id, s }))]}>
        {(item) =>
          'w' in item ? (
            <Text key={item.key} color="yellow">
              WARN: {item.w}
            </Text>
          ) : (
            <Box key={item.key} flexDirection="column">
              <StepLine step={item.s} now={now} tick={tick} />
              {item.s.status === 'error'
                ? item.s.lastLines.map((l, i) => (
                    <Text key={i} dimColor>
                      {'    '}
                      {l}
                    </Text>
                  ))
                : null}
            </Box>
          )
        }
      </Static>
      {live.map((s) => (
        <Box key={s.id} flexDirection="column">
          <StepLine step={s} now={now} tick={tick} />
          {s.status === 'running'
            ? s.lastLines.map((l, i) => (
                <Text key={i} dimColor wrap="truncate-end">
                  {'    '}
                  {l}
                </Text>
              ))
            : null}
        </Box>
      ))}
      {state.summary ? (
        <Text>
          <Text bold>Built in {formatDuration(state.summary.durationMs)}</Text> ({state.summary.stepsRun} run, {state.summary.stepsCached} cached)
          {state.summary.imageId ? ` ${state.summary.imageId}` : ''}
          {state.summary.size !== undefined ? ` ${formatSize(state.summary.size)}` : ''}
        </Text>
      ) : null}
    </Box>
  );
}

function LiveView({ subscribe }: { subscribe: (f: (s: ViewState) => void) => void }): React.ReactElement {
  const [state, setState] = useState<ViewState>(initialState);
  useEffect(() => subscribe(setState), [subscribe]);
  const running = state.steps.some((s) => s.status === 'running');
  const tick = useTick(running && !state.summary);
  return <BuildView state={state} now={Date.now()} tick={tick} />;
}

/** Mounts the ink view on stderr; `emit` folds events into the state; `close` renders the last frame and unmounts. */
export function createTtyView(io: Io): { emit: (e: ProgressEvent) => void; close: () => Promise<void> } {
  let state = initialState;
  let listener: ((s: ViewState) => void) | undefined;
  const app = render(<LiveView subscribe={(f) => (listener = f)} />, {
    stdout: io.stderr as NodeJS.WriteStream,
    stdin: io.stdin as NodeJS.ReadStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    emit(e) {
      state = reduce(state, e);
      listener?.(state);
    },
    async close() {
      listener?.(state);
      await new Promise((r) => setTimeout(r, 20));
      app.unmount();
      await app.waitUntilExit().catch(() => {});
    },
  };
}
