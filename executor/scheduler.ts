/**
 * The scheduler walks a build graph in dependency order with p-limit: every step starts as soon as its inputs are
 * done, independent stages and steps run concurrently, and the first failure aborts the rest.
 *
 * It is lazy, as BuildKit's solver is:
 * - every step gets its key and a cache lookup, in dependency order (a key needs its inputs' keys, never their
 *   results; hits are reported CACHED, as BuildKit reports every vertex whose key it finds);
 * - what must run is the `roots` the caller needs and the inputs of every needed step that missed (a hit needs
 *   nothing more), so when `COPY --from=builder` hits, nothing of the builder stage runs;
 * - the needed misses run, each as soon as its inputs are done; the rest are reported `step-skipped`.
 * A CI build with a `--cache-from` that holds only the image's own steps (mode=min) thus skips the builder stages.
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
  /** Inputs whose results `lookup` needs as well as their keys (a `COPY --link` hit is stacked on its base). */
  lookupNeeds?(step: Step): readonly StepId[];
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
  /**
   * The steps whose outcomes the caller needs (default: every step). Other steps are resolved only when a root
   * that must run needs their results; those never resolved are reported as `step-skipped`.
   */
  readonly roots?: readonly StepId[];
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
  let firstError: unknown;
  const stepOf = (id: StepId): Step => {
    const step = graph.steps.get(id);
    if (!step) throw new Error(`build graph refers to missing step ${id}`);
    return step;
  };
  const failed = (e: unknown): void => {
    if (firstError === undefined) {
      firstError = e;
      abort.abort(e);
    }
  };
  /** `make` run once per step; its promise is shared, and a rejection aborts the build. */
  const perStep = <T>(make: (step: Step) => Promise<T>): ((id: StepId) => Promise<T>) => {
    const memo = new Map<StepId, Promise<T>>();
    return (id) => {
      let p = memo.get(id);
      if (!p) {
        p = make(stepOf(id));
        p.catch(failed);
        memo.set(id, p);
      }
      return p;
    };
  };
  const quiet = (step: Step): boolean => opts.quietStep?.(step) ?? false;

  // Steps that must not use the cache are roots too: `--no-cache-filter deps` asks for deps to run even when what
  // uses it is a hit.
  const roots = new Set<StepId>(opts.roots ?? graph.steps.keys());
  if (opts.roots && opts.bypassCache) for (const s of graph.steps.values()) if (opts.bypassCache(s)) roots.add(s.id);

  /** A step's cache key: its inputs' keys first (their results are not needed for it). */
  const keyOf = perStep(async (step): Promise<CacheKey> => {
    const inputKeys = await Promise.all(step.inputs.map(keyOf));
    return limit(() => {
      abort.signal.throwIfAborted();
      return runner.key(step, inputKeys);
    });
  });

  /** Steps whose lookup waits for their inputs' results: `visit` makes it once they are there. */
  const deferred = new Set<StepId>();
  const lookupNow = async (step: Step, key: CacheKey): Promise<StepOutcome<R> | undefined> => {
    // (a lookup reads an index entry: no need to queue it behind other work)
    abort.signal.throwIfAborted();
    const hit = await runner.lookup(step, key);
    if (hit === undefined) return undefined;
    if (!quiet(step)) opts.emit({ type: 'step-cached', time: Date.now(), id: step.id });
    const o: StepOutcome<R> = { key, result: hit, cached: true, durationMs: 0 };
    outcomes.set(step.id, o);
    return o;
  };
  /**
   * A step's cache lookup, after its inputs' lookups (so hits are reported in dependency order): the hit's
   * outcome, or undefined for a miss, a step that must not use the cache, or a lookup that needs results which only
   * running will make (a `COPY --link` hit is stacked on its base; if the base missed, `visit` looks again once the
   * base is there).
   */
  const lookupOf = perStep(async (step): Promise<StepOutcome<R> | undefined> => {
    const key = await keyOf(step.id);
    await Promise.all(step.inputs.map(lookupOf));
    if (opts.bypassCache?.(step) ?? false) return undefined;
    const needs = await Promise.all((runner.lookupNeeds?.(step) ?? []).map(lookupOf));
    if (needs.some((o) => o === undefined)) {
      deferred.add(step.id);
      return undefined;
    }
    return lookupNow(step, key);
  });

  /** A needed step's outcome: its hit, or a run once its inputs' outcomes are there. */
  const visit: (id: StepId) => Promise<StepOutcome<R>> = perStep(async (step) => {
    const hit = await lookupOf(step.id);
    if (hit) return hit;
    const key = await keyOf(step.id);
    const inputs = await Promise.all(step.inputs.map(visit));
    const late = deferred.has(step.id) ? await lookupNow(step, key) : undefined;
    if (late) return late;
    return limit(async () => {
      abort.signal.throwIfAborted();
      const id = step.id;
      const started = Date.now();
      if (!quiet(step)) opts.emit({ type: 'step-start', time: started, id });
      const result = await runner.run(
        step,
        inputs.map((i) => i.result),
        key,
        abort.signal,
      );
      const durationMs = Date.now() - started;
      if (!quiet(step)) opts.emit({ type: 'step-done', time: Date.now(), id, durationMs });
      const o: StepOutcome<R> = { key, result, cached: false, durationMs };
      outcomes.set(id, o);
      return o;
    });
  });

  try {
    // Every step is looked up (hits are reported even where nothing needs them), while the roots are visited: a
    // visit that misses visits its inputs, so what must run is found as lookups come in, with no barrier between
    // hashing the context for one step and running another.
    const looked = Promise.allSettled([...graph.steps.keys()].map(lookupOf));
    await Promise.allSettled([...roots].map(visit));
    await looked;
    if (firstError !== undefined) throw firstError;
    for (const step of graph.steps.values()) {
      if (!outcomes.has(step.id) && !quiet(step)) opts.emit({ type: 'step-skipped', time: Date.now(), id: step.id });
    }
    return outcomes;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
