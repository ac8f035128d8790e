import type { ProgressEvent, StepInfo } from '../../executor/progress.ts';

/** A step's label as BuildKit prints it: `[stage 2/5] RUN apt-get update`, `[build 1/3] FROM debian`. */
export function stepLabel(s: StepInfo): string {
  if (s.origin) {
    // BuildKit: `[2/5]` in a single unnamed stage, `[stage-1 2/5]` for unnamed stages of a multi-stage build.
    const o = s.origin;
    const stage = /^\d+$/.test(o.stage) ? (o.stageIndex === 0 && !s.multiStage ? '' : `stage-${o.stage} `) : `${o.stage} `;
    return `[${stage}${o.instructionIndex}/${o.instructionCount}] ${o.text}`;
  }
  return s.description;
}

export function formatDuration(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`;
}

/**
 * The `plain` progress printer: one line per event, step numbers and timings, full RUN output, nothing animated.
 * Output lines look like BuildKit's plain mode: `#3 [stage 2/4] RUN make`, `#3 0.532 compiling…`, `#3 DONE 1.2s`.
 */
export function createPlainPrinter(write: (s: string) => void): (e: ProgressEvent) => void {
  const numbers = new Map<string, number>();
  const infos = new Map<string, StepInfo>();
  const started = new Map<string, number>();
  /** A step's unfinished last output line, with the time (seconds into the step) of the output it came in. */
  const partial = new Map<string, { text: string; t: string }>();
  let next = 1;
  const num = (id: string): number => {
    let n = numbers.get(id);
    if (n === undefined) {
      n = next++;
      numbers.set(id, n);
    }
    return n;
  };
  const header = (id: string): void => {
    if (numbers.has(id)) return;
    const info = infos.get(id);
    write(`#${num(id)} ${info ? stepLabel(info) : id}\n`);
  };
  const flushPartial = (id: string): void => {
    const rest = partial.get(id);
    if (rest && rest.text !== '') write(`#${num(id)} ${rest.t} ${rest.text}\n`);
    partial.delete(id);
  };
  return (e) => {
    switch (e.type) {
      case 'build-start':
        for (const s of e.steps) infos.set(s.id, s);
        break;
      case 'warning': {
        const d = e.diagnostic;
        const where = d.range ? ` (line ${d.range.start.line})` : '';
        write(`WARN: ${d.code}: ${d.message}${where}\n`);
        break;
      }
      case 'step-start':
        header(e.id);
        started.set(e.id, e.time);
        break;
      case 'step-cached':
        header(e.id);
        write(`#${num(e.id)} CACHED\n`);
        break;
      case 'step-skipped':
        // as in BuildKit's plain output, a step that was not needed prints nothing (the summary counts it)
        break;
      case 'step-log': {
        header(e.id);
        const t = ((e.time - (started.get(e.id) ?? e.time)) / 1000).toFixed(3);
        const lines = ((partial.get(e.id)?.text ?? '') + e.data).split('\n');
        partial.set(e.id, { text: lines.pop() ?? '', t });
        for (const l of lines) write(`#${num(e.id)} ${t} ${l}\n`);
        break;
      }
      case 'step-done':
        flushPartial(e.id);
        write(`#${num(e.id)} DONE ${formatDuration(e.durationMs)}\n`);
        break;
      case 'step-error':
        flushPartial(e.id);
        write(`#${num(e.id)} ERROR: ${e.message}\n`);
        break;
      case 'export':
        write(`#${next} ${e.message}\n`);
        break;
      case 'build-done': {
        const parts = [`${e.stepsRun} run`, `${e.stepsCached} cached`];
        if (e.stepsSkipped) parts.push(`${e.stepsSkipped} not needed`);
        write(`\nBuilt in ${formatDuration(e.durationMs)} (${parts.join(', ')})`);
        if (e.imageId) write(`: ${e.imageId}`);
        if (e.size !== undefined) write(` ${formatSize(e.size)}`);
        write('\n');
        break;
      }
    }
  };
}
