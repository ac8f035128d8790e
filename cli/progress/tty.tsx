/**
 * The terminal progress view: one line per step with its state (waiting, running with a spinner and elapsed time,
 * CACHED, DONE with duration, ERROR), the running steps' last output lines, parallel steps visible at once, and a
 * summary.
 *
 * The components are ink; the frame loop is ours. ink's own render loop erases its previous frame by counting the
 * lines it wrote, which is wrong after the terminal narrows and reflows those lines onto more rows (tmux, VTE,
 * kitty, iTerm2 and Windows Terminal all reflow): the erase falls short and leaves copies of old lines behind.
 * So each frame is rendered with ink's renderToString and written by `FrameWriter`, which
 * - prints finished steps once, above the live region, and never touches them again (no flicker in long builds);
 * - truncates live lines to the terminal width minus one column, so they never wrap when drawn;
 * - on a resize, repaints the visible screen (see FrameWriter for why the old frame cannot be erased in place);
 * - keeps the live region shorter than the screen (a frame taller than the screen cannot be erased);
 * - overwrites lines in place (erase-to-end-of-line after each) inside a synchronized-output block instead of
 *   clearing first, so there is never a blank frame to flicker.
 */
import React from 'react';
import { Box, Static, Text, renderToString } from 'ink';
import type { ProgressEvent } from '../../executor/progress.ts';
import type { Io } from '../command.ts';
import { initialState, reduce, type StepView, type ViewState } from './state.ts';
import { formatDuration, formatSize } from './plain.ts';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Output lines shown under each running step. */
const OUTPUT_LINES = 3;

export function StepLine({ step, now, tick }: { step: StepView; now: number; tick: number }): React.ReactElement {
  switch (step.status) {
    case 'waiting':
      return (
        <Text dimColor wrap="truncate-end">
          {'  '}
          {step.label}
        </Text>
      );
    case 'running':
      return (
        <Text wrap="truncate-end">
          <Text color="cyan">{SPINNER[tick % SPINNER.length]}</Text> {step.label} <Text dimColor>{formatDuration(now - (step.startedAt ?? now))}</Text>
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

/** A finished step as printed once above the live region (an error shows its last output lines). */
export function FinishedStep({ step }: { step: StepView }): React.ReactElement {
  return (
    <Box flexDirection="column">
      <StepLine step={step} now={0} tick={0} />
      {step.status === 'error'
        ? step.lastLines.map((l, i) => (
            <Text key={i} dimColor>
              {'    '}
              {l}
            </Text>
          ))
        : null}
    </Box>
  );
}

/**
 * The live region: running steps with their last output lines, then waiting steps, in at most `maxRows` lines
 * (output lines go first, then waiting steps collapse into "… N more waiting").
 */
export function LiveRegion({ state, now, tick, maxRows = Infinity }: { state: ViewState; now: number; tick: number; maxRows?: number }): React.ReactElement {
  const running = state.steps.filter((s) => s.status === 'running');
  const waiting = state.steps.filter((s) => s.status === 'waiting');
  let budget = Math.max(1, maxRows);
  const shownRunning = running.slice(0, budget);
  budget -= shownRunning.length;
  const outputPer = shownRunning.length === 0 ? 0 : Math.min(OUTPUT_LINES, Math.floor(Math.max(0, budget - Math.min(waiting.length, 1)) / shownRunning.length));
  budget -= outputPer * shownRunning.length;
  const hiddenRunning = running.length - shownRunning.length;
  const waitingRows = waiting.length <= budget ? waiting.length : Math.max(0, budget - 1);
  const hiddenWaiting = waiting.length - waitingRows;
  return (
    <Box flexDirection="column">
      {shownRunning.map((s) => (
        <Box key={s.id} flexDirection="column">
          <StepLine step={s} now={now} tick={tick} />
          {s.lastLines.slice(-outputPer).map((l, i) => (
            <Text key={i} dimColor wrap="truncate-end">
              {'    '}
              {l}
            </Text>
          ))}
        </Box>
      ))}
      {waiting.slice(0, waitingRows).map((s) => (
        <StepLine key={s.id} step={s} now={now} tick={tick} />
      ))}
      {hiddenRunning + hiddenWaiting > 0 ? (
        <Text dimColor wrap="truncate-end">
          {'  '}… {hiddenRunning > 0 ? `${hiddenRunning} more running, ` : ''}
          {hiddenWaiting} more waiting
        </Text>
      ) : null}
    </Box>
  );
}

export function Summary({ summary }: { summary: NonNullable<ViewState['summary']> }): React.ReactElement {
  return (
    <Text>
      <Text bold>Built in {formatDuration(summary.durationMs)}</Text> ({summary.stepsRun} run, {summary.stepsCached} cached{summary.stepsSkipped ? `, ${summary.stepsSkipped} not needed` : ''})
      {summary.imageId ? ` ${summary.imageId}` : ''}
      {summary.size !== undefined ? ` ${formatSize(summary.size)}` : ''}
    </Text>
  );
}

const isFinished = (s: StepView): boolean => s.status === 'done' || s.status === 'cached' || s.status === 'error';

/** The whole view as one ink tree (finished steps in <Static>), for ink-testing-library and renderToString. */
export function BuildView({ state, now, tick, maxRows }: { state: ViewState; now: number; tick: number; maxRows?: number }): React.ReactElement {
  const finished = state.steps.filter(isFinished);
  return (
    <Box flexDirection="column">
      <Static items={[...state.warnings.map((w, i) => ({ key: `w${i}`, w })), ...finished.map((s) => ({ key: s.id, s }))]}>
        {(item) =>
          'w' in item ? (
            <Text key={item.key} color="yellow">
              WARN: {item.w}
            </Text>
          ) : (
            <FinishedStep key={item.key} step={item.s} />
          )
        }
      </Static>
      <LiveRegion state={state} now={now} tick={tick} {...(maxRows !== undefined ? { maxRows } : {})} />
      {state.summary ? <Summary summary={state.summary} /> : null}
    </Box>
  );
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/** Terminal columns a string occupies: ANSI sequences take none, East Asian wide characters and emoji two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s.replace(ANSI, '')) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c <= 0x36f) || c === 0x200d || (c >= 0xfe00 && c <= 0xfe0f)) continue;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1faff) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** A rendered line without the trailing spaces ink pads it with (colour codes among them are dropped too). */
export function trimLine(line: string): string {
  // eslint-disable-next-line no-control-regex
  const trimmed = line.replace(/(?:[ \t]|\x1b\[[0-9;]*m)+$/, '');
  return trimmed.includes('\x1b[') ? `${trimmed}\x1b[0m` : trimmed;
}

/**
 * Rows that lines drawn unwrapped occupy once the terminal is `columns` wide: a terminal that reflows wraps each
 * line onto ceil(width / columns) rows (an empty line still takes one).
 */
export function rowsAfterReflow(widths: readonly number[], columns: number): number {
  const cols = Math.max(1, columns);
  return widths.reduce((n, w) => n + Math.max(1, Math.ceil(w / cols)), 0);
}

/** Where frames go: a terminal's write, its current size, and its resize notifications. */
export interface TerminalLike {
  write(s: string): void;
  columns(): number;
  rows(): number;
}

const SYNC_BEGIN = '\x1b[?2026h';
const SYNC_END = '\x1b[?2026l';
const ERASE_EOL = '\x1b[K';
const ERASE_DOWN = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/** Lines of printed-once text kept to repaint the screen after a resize. */
const STATIC_KEEP = 1000;

/**
 * Writes frames: `draw(staticText, liveLines)` prints `staticText` once (it scrolls up with the terminal and is
 * never redrawn) and replaces the previous live lines with `liveLines`.
 *
 * A resize repaints the whole visible screen instead (`redraw`): after the terminal reflows, the old frame's rows
 * cannot be found reliably, because a reflowing terminal may keep the cursor row and push the rows above it into
 * the scrollback, where no cursor movement reaches (tmux does). So the screen is cleared from the top and the
 * most recent printed-once lines are repainted above the live region.
 */
export class FrameWriter {
  private readonly term: TerminalLike;
  /** Display widths of the live lines on screen (drawn unwrapped: each narrower than the terminal). */
  private widths: number[] = [];
  private last = '';
  private cursorHidden = false;
  private readonly staticLines: string[] = [];

  constructor(term: TerminalLike) {
    this.term = term;
  }

  draw(staticText: string, liveLines: readonly string[]): void {
    const live = liveLines.join('\n');
    if (staticText === '' && live === this.last && liveLines.length === this.widths.length) return;
    const up = this.widths.length;
    let out = this.begin();
    if (up > 0) out += `\x1b[${up}F`;
    const fresh = staticText === '' ? [] : staticText.replace(/\n$/, '').split('\n');
    for (const l of fresh) out += `${l}${ERASE_EOL}\n`;
    for (const l of liveLines) out += `${l}${ERASE_EOL}\n`;
    out += ERASE_DOWN + SYNC_END;
    this.term.write(out);
    this.staticLines.push(...fresh);
    if (this.staticLines.length > STATIC_KEEP) this.staticLines.splice(0, this.staticLines.length - STATIC_KEEP);
    this.widths = liveLines.map(displayWidth);
    this.last = live;
  }

  /** Repaints the visible screen after a resize: the latest printed-once lines that fit, then `liveLines`. */
  redraw(liveLines: readonly string[]): void {
    const cols = this.term.columns();
    let room = Math.max(0, this.term.rows() - 1 - liveLines.length);
    const tail: string[] = [];
    for (let i = this.staticLines.length - 1; i >= 0 && room > 0; i--) {
      const line = this.staticLines[i]!;
      const rows = rowsAfterReflow([displayWidth(line)], cols);
      if (rows > room) break;
      room -= rows;
      tail.unshift(line);
    }
    // Overwritten from the top rather than cleared first: a clear of the whole screen is pushed into the
    // scrollback by some terminals (tmux's scroll-on-clear), an erase below the last line is not.
    let out = `${this.begin()}\x1b[H`;
    for (const l of [...tail, ...liveLines]) out += `${l}${ERASE_EOL}\n`;
    out += ERASE_DOWN + SYNC_END;
    this.term.write(out);
    this.widths = liveLines.map(displayWidth);
    this.last = liveLines.join('\n');
  }

  /** Erases the live region, prints `finalText` once, and shows the cursor again. */
  finish(finalText: string): void {
    this.draw(finalText, []);
    this.showCursor();
  }

  showCursor(): void {
    if (this.cursorHidden) this.term.write(SHOW_CURSOR);
    this.cursorHidden = false;
  }

  private begin(): string {
    if (this.cursorHidden) return SYNC_BEGIN;
    this.cursorHidden = true;
    return SYNC_BEGIN + HIDE_CURSOR;
  }
}

/** Options of `createTtyView`; the defaults read io.stderr. */
export interface TtyViewOptions {
  readonly terminal?: TerminalLike;
  /** Milliseconds between animation frames while a step runs. */
  readonly frameMs?: number;
  readonly now?: () => number;
}

/** Mounts the view on io.stderr (a terminal); `emit` folds events in, `close` prints the final state and stops. */
export function createTtyView(io: Io, opts: TtyViewOptions = {}): { emit: (e: ProgressEvent) => void; close: () => Promise<void> } {
  const stream = io.stderr as NodeJS.WriteStream;
  const term: TerminalLike = opts.terminal ?? {
    write: (s) => void stream.write(s),
    columns: () => stream.columns || 80,
    rows: () => stream.rows || 24,
  };
  const now = opts.now ?? Date.now;
  const writer = new FrameWriter(term);
  let state = initialState;
  let tick = 0;
  const printed = new Set<string>();
  let warningsPrinted = 0;
  let closed = false;

  const render = (node: React.ReactElement, columns: number): string =>
    renderToString(node, { columns: Math.max(10, columns) })
      .split('\n')
      .map(trimLine)
      .join('\n');
  // Printed-once text is laid out unbounded and left to the terminal to wrap: a hard newline from ink's wrapping
  // would stay in the scrollback when the terminal widens, and ink pads lines with spaces up to the width, which
  // makes a reflowing terminal join them with the next line.
  const UNBOUNDED = 10_000;
  const liveLines = (): string[] => {
    const cols = term.columns();
    // One row stays free for the cursor: a frame as tall as the screen scrolls and cannot be erased.
    const text = render(<LiveRegion state={state} now={now()} tick={tick} maxRows={Math.max(1, term.rows() - 2)} />, cols - 1);
    return text === '' ? [] : text.split('\n');
  };
  const newStatic = (): string => {
    let out = '';
    for (; warningsPrinted < state.warnings.length; warningsPrinted++) out += render(<Text color="yellow">WARN: {state.warnings[warningsPrinted]}</Text>, UNBOUNDED) + '\n';
    for (const s of state.steps) {
      if (!isFinished(s) || printed.has(s.id)) continue;
      printed.add(s.id);
      out += render(<FinishedStep step={s} />, UNBOUNDED) + '\n';
    }
    return out;
  };
  const frame = (): void => {
    if (closed) return;
    writer.draw(newStatic(), liveLines());
  };

  const timer = setInterval(() => {
    if (!state.steps.some((s) => s.status === 'running')) return;
    tick++;
    frame();
  }, opts.frameMs ?? 100);
  timer.unref();
  const onResize = (): void => {
    if (!closed) writer.redraw(liveLines());
  };
  stream.on?.('resize', onResize);
  // A crash or an exit path that skips close() must not leave the user's cursor hidden.
  const onExit = (): void => writer.showCursor();
  process.once('exit', onExit);

  return {
    emit(e) {
      state = reduce(state, e);
      if (e.type !== 'step-log') frame();
    },
    async close() {
      if (closed) return;
      clearInterval(timer);
      stream.off?.('resize', onResize);
      // Steps still running when the build stopped (a sibling failed, or ^C) were cancelled.
      state = {
        ...state,
        steps: state.steps.map((s) => (s.status === 'running' ? { ...s, status: 'error' as const, error: 'CANCELED', lastLines: [] } : s)),
      };
      let text = newStatic();
      if (state.summary) text += render(<Summary summary={state.summary} />, UNBOUNDED) + '\n';
      closed = true;
      writer.finish(text);
      process.off('exit', onExit);
    },
  };
}
