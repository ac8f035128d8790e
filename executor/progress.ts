/**
 * The build's progress as an event stream. The engine only emits; the CLI's printers (plain, rawjson, the ink view)
 * consume. Times are milliseconds since the Unix epoch; durations are milliseconds.
 */
import type { Diagnostic } from '../util/errors.ts';
import type { StepOrigin } from '../compiler/graph.ts';

export interface StepInfo {
  readonly id: string;
  /** `[stage 2/5] RUN apt-get update` style label parts. */
  readonly description: string;
  readonly origin?: StepOrigin;
  /** Whether this step makes a filesystem change (exec/file) or only resolves a source. */
  readonly kind: 'source' | 'exec' | 'file';
  /** True when the build has several stages (labels then name unnamed stages `stage-N`). */
  readonly multiStage?: boolean;
}

export type ProgressEvent =
  | { readonly type: 'build-start'; readonly time: number; readonly steps: readonly StepInfo[] }
  | { readonly type: 'warning'; readonly time: number; readonly diagnostic: Diagnostic }
  | { readonly type: 'step-start'; readonly time: number; readonly id: string }
  | { readonly type: 'step-cached'; readonly time: number; readonly id: string }
  /** A cache miss the outputs do not need (what uses it was a hit): it does not run. */
  | { readonly type: 'step-skipped'; readonly time: number; readonly id: string }
  | { readonly type: 'step-log'; readonly time: number; readonly id: string; readonly stream: 'stdout' | 'stderr'; readonly data: string }
  | { readonly type: 'step-done'; readonly time: number; readonly id: string; readonly durationMs: number }
  | {
      readonly type: 'step-error';
      readonly time: number;
      readonly id: string;
      readonly message: string;
      readonly exitCode?: number;
      /** The last lines of the step's output (at most 20). */
      readonly tail: readonly string[];
    }
  | { readonly type: 'export'; readonly time: number; readonly message: string }
  | {
      readonly type: 'build-done';
      readonly time: number;
      readonly durationMs: number;
      readonly imageId?: string;
      readonly manifestDigest?: string;
      readonly size?: number;
      readonly stepsRun: number;
      readonly stepsCached: number;
      /** Cache misses that did not run because nothing the outputs need depended on them. */
      readonly stepsSkipped?: number;
    };

export type ProgressSink = (event: ProgressEvent) => void;

/** Keeps the last N lines written by a step, for error reports. */
export class LineTail {
  private readonly lines: string[] = [];
  private partial = '';
  private readonly max: number;
  constructor(max = 20) {
    this.max = max;
  }

  push(data: string): void {
    const parts = (this.partial + data).split('\n');
    this.partial = parts.pop() ?? '';
    for (const l of parts) {
      this.lines.push(l);
      if (this.lines.length > this.max) this.lines.shift();
    }
  }

  get(): string[] {
    const all = this.partial ? [...this.lines, this.partial] : [...this.lines];
    return all.slice(-this.max);
  }
}
