/**
 * The scheduler walks a build graph in dependency order with p-limit: every step starts as soon as its inputs are
 * done, independent stages and steps run concurrently, and the first failure aborts the rest.
 *
 * What a step *does* is behind `StepRunner` so that the walk is tested with fakes and the real runner (runc,
 * overlayfs, the content store) plugs in unchanged.
 */
import pLimit from 'p-limit';
import type { BuildGraph, CacheKey, Step, StepId } from '../compiler/graph.ts';
import { TsbuildError } from '../util/errors.ts';
import type { ProgressSink } from './progress.ts';

export interface StepRunner<R> {
  /** The step's full cache key (content digests of its context paths are computed here, at the edge). */
  key(step: Step, inputKeys: readonly CacheKey[]): Promise<CacheKey>;
  /** A stored result for the key, or undefined. Not called when the step must not use the cache. */
  lookup(step: Step, key: CacheKey): Promise<R | undefined>;
  /** Executes the step on its inputs' results and stores the outcome under `key`. */
  run(step: Step, inputs: readonly R[], key: CacheKey, signal: AbortSignal): Promise<R>;
}

export interface StepOutcome<R> {
  readonly key: CacheKey;
  readonly result: R;
  readonly cached: boolean;
  readonly durationMs: number;
}

export interface ScheduleOptions {
  readonly parallelism: number;
  readonly emit: ProgressSink;
  readonly signal?: AbortSignal;
  /** True when the step must run even if a result is cached (`--no-cache`, `--no-cache-filter`). */
  readonly bypassCache?: (step: Step) => boolean;
  /** Source steps are resolved silently (no progress line) when this says so. */
  readonly quietStep?: (step: Step) => boolean;
}

/** Thrown when a step fails; carries the step so the CLI can show its Dockerfile excerpt. */
export class StepFailedError extends TsbuildError {
  readonly step: Step;
  readonly stepExitCode: number | undefined;
  readonly tail: readonly string[];
  constructor(step: Step, message: string, opts: { exitCode?: number; tail?: readonly string[]; cause?: unknown } = {}) {
    super('build/step-failed', message, {
      file: step.origin?.file,
      range: step.origin?.range,
      cause: opts.cause,
    });
    this.step = step;
    this.stepExitCode = opts.exitCode;
    this.tail = opts.tail ?? [];
  }
}

export async function schedule<R>(
  graph: BuildGraph,
  runner: StepRunner<R>,
  opts: ScheduleOptions,
): Promise<Map<StepId, StepOutcome<R>>> {
  const limit = pLimit(Math.max(1, opts.parallelism));
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const outcomes = new Map<StepId, StepOutcome<R>>();
  const pending = new Map<StepId, Promise<StepOutcome<R>>>();
  let firstError: unknown;

  const visit = (id: StepId): Promise<StepOutcome<R>> => {
    const existing = pending.get(id);
    if (existing) return existing;
    const step = graph.steps.get(id);
    if (!step) throw new Error(`build graph refers to missing step ${id}`);
    const p = (async () => {
      const inputs = await Promise.all(step.inputs.map(visit));
      return limit(async () => {
        if (abort.signal.aborted) throw abort.signal.reason ?? new Error('aborted');
        const quiet = opts.quietStep?.(step) ?? false;
        const key = await runner.key(
          step,
          inputs.map((i) => i.key),
        );
        const started = Date.now();
        if (!(opts.bypassCache?.(step) ?? false)) {
          const hit = await runner.lookup(step, key);
          if (hit !== undefined) {
            if (!quiet) opts.emit({ type: 'step-cached', time: Date.now(), id });
            const o: StepOutcome<R> = { key, result: hit, cached: true, durationMs: 0 };
            outcomes.set(id, o);
            return o;
          }
        }
        if (!quiet) opts.emit({ type: 'step-start', time: started, id });
        const result = await runner.run(
          step,
          inputs.map((i) => i.result),
          key,
          abort.signal,
        );
        const durationMs = Date.now() - started;
        if (!quiet) opts.emit({ type: 'step-done', time: Date.now(), id, durationMs });
        const o: StepOutcome<R> = { key, result, cached: false, durationMs };
        outcomes.set(id, o);
        return o;
      });
    })();
    p.catch((e: unknown) => {
      if (firstError === undefined) {
        firstError = e;
        abort.abort(e);
      }
    });
    pending.set(id, p);
    return p;
  };

  try {
    const all = [...graph.steps.keys()].map(visit);
    await Promise.allSettled(all);
    if (firstError !== undefined) throw firstError;
    return outcomes;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
