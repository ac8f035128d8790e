/**
 * `--progress rawjson`: one JSON object per line on stderr, for tools. The schema is versioned (`v: 1`) and
 * documented in the README ("rawjson events"); fields are only ever added within a version.
 *
 * Unlike the engine's internal events, every vertex event carries the vertex's `name` (its BuildKit-style label)
 * so a consumer can process lines one at a time, times are RFC 3339 strings in UTC with milliseconds (as BuildKit's
 * `started`/`completed`), durations are integer milliseconds, and output is split into whole lines (a partial last
 * line is flushed when its vertex ends).
 */
import type { ProgressEvent, StepInfo } from '../../executor/progress.ts';
import { TsbuildError } from '../../util/errors.ts';
import { stepLabel } from './plain.ts';

interface Base {
  /** Schema version. */
  readonly v: 1;
  /** When the event happened (RFC 3339, UTC, milliseconds). */
  readonly time: string;
}

/** A vertex is one build step: a base image, a RUN, a COPY/ADD, ... `id` is stable within a build. */
interface VertexBase extends Base {
  readonly id: string;
  /** `[stage 2/5] RUN make`, as the plain and tty views print it. */
  readonly name: string;
}

/** Every line `--progress rawjson` writes. */
export type RawJsonEvent =
  | (Base & { readonly type: 'build.started'; readonly vertices: readonly { id: string; name: string; kind: StepInfo['kind'] }[] })
  | (VertexBase & { readonly type: 'vertex.started'; readonly started: string })
  | (VertexBase & { readonly type: 'vertex.cached'; readonly cached: true; readonly completed: string })
  /** A cache miss the outputs do not need: it does not run. */
  | (VertexBase & { readonly type: 'vertex.skipped' })
  | (VertexBase & { readonly type: 'vertex.log'; readonly stream: 'stdout' | 'stderr'; readonly line: string })
  | (VertexBase & {
      readonly type: 'vertex.completed';
      readonly cached: false;
      readonly started: string;
      readonly completed: string;
      readonly durationMs: number;
    })
  | (VertexBase & {
      readonly type: 'vertex.error';
      readonly started?: string;
      readonly completed: string;
      readonly error: string;
      /** The process's exit status for a failed RUN. */
      readonly exitCode?: number;
      /** The last lines of the vertex's output (at most 20). */
      readonly tail: readonly string[];
    })
  | (Base & { readonly type: 'warning'; readonly code: string; readonly message: string; readonly file?: string; readonly line?: number; readonly col?: number })
  | (Base & { readonly type: 'export'; readonly message: string })
  | (Base & {
      readonly type: 'build.completed';
      readonly durationMs: number;
      readonly imageId?: string;
      readonly manifestDigest?: string;
      /** Bytes: the image's config, manifest and compressed layers. */
      readonly size?: number;
      readonly stepsRun: number;
      readonly stepsCached: number;
      readonly stepsSkipped?: number;
    })
  | (Base & {
      readonly type: 'build.error';
      /** The TsbuildError code (`build/step-failed`, `parse/...`, `build/interrupted`, ...). */
      readonly code: string;
      readonly message: string;
      readonly file?: string;
      /** 1-based. */
      readonly line?: number;
      /** 1-based. */
      readonly col?: number;
      /** The exit code tsbuild exits with. */
      readonly exitCode: number;
    });

const iso = (ms: number): string => new Date(ms).toISOString();

/** The rawjson printer: `emit` for engine events, `fail` for the error that ended the build (one `build.error`). */
export function createRawJsonPrinter(write: (s: string) => void): { emit: (e: ProgressEvent) => void; fail: (e: unknown) => void } {
  const names = new Map<string, string>();
  const started = new Map<string, number>();
  const partial = new Map<string, { stream: 'stdout' | 'stderr'; text: string }>();
  const out = (e: RawJsonEvent): void => write(`${JSON.stringify(e)}\n`);
  const name = (id: string): string => names.get(id) ?? id;
  const flush = (id: string, time: number): void => {
    const p = partial.get(id);
    if (p && p.text !== '') out({ v: 1, type: 'vertex.log', time: iso(time), id, name: name(id), stream: p.stream, line: p.text });
    partial.delete(id);
  };
  const emit = (e: ProgressEvent): void => {
    const time = iso(e.time);
    switch (e.type) {
      case 'build-start':
        for (const s of e.steps) names.set(s.id, stepLabel(s));
        out({ v: 1, type: 'build.started', time, vertices: e.steps.map((s) => ({ id: s.id, name: stepLabel(s), kind: s.kind })) });
        return;
      case 'warning': {
        const d = e.diagnostic;
        out({
          v: 1,
          type: 'warning',
          time,
          code: d.code,
          message: d.message,
          ...(d.file !== undefined ? { file: d.file } : {}),
          ...(d.range ? { line: d.range.start.line, col: d.range.start.col } : {}),
        });
        return;
      }
      case 'step-start':
        started.set(e.id, e.time);
        out({ v: 1, type: 'vertex.started', time, id: e.id, name: name(e.id), started: time });
        return;
      case 'step-cached':
        out({ v: 1, type: 'vertex.cached', time, id: e.id, name: name(e.id), cached: true, completed: time });
        return;
      case 'step-skipped':
        out({ v: 1, type: 'vertex.skipped', time, id: e.id, name: name(e.id) });
        return;
      case 'step-log': {
        const prev = partial.get(e.id);
        // A switch of stream ends the pending partial line of the other stream.
        if (prev && prev.stream !== e.stream) flush(e.id, e.time);
        const text = (partial.get(e.id)?.text ?? '') + e.data;
        const lines = text.split('\n');
        const rest = lines.pop() ?? '';
        for (const l of lines) out({ v: 1, type: 'vertex.log', time, id: e.id, name: name(e.id), stream: e.stream, line: l.replace(/\r$/, '') });
        partial.set(e.id, { stream: e.stream, text: rest });
        return;
      }
      case 'step-done': {
        flush(e.id, e.time);
        const s = started.get(e.id) ?? e.time - e.durationMs;
        out({ v: 1, type: 'vertex.completed', time, id: e.id, name: name(e.id), cached: false, started: iso(s), completed: time, durationMs: e.durationMs });
        return;
      }
      case 'step-error': {
        flush(e.id, e.time);
        const s = started.get(e.id);
        out({
          v: 1,
          type: 'vertex.error',
          time,
          id: e.id,
          name: name(e.id),
          ...(s !== undefined ? { started: iso(s) } : {}),
          completed: time,
          error: e.message,
          ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
          tail: e.tail,
        });
        return;
      }
      case 'export':
        out({ v: 1, type: 'export', time, message: e.message });
        return;
      case 'build-done':
        out({
          v: 1,
          type: 'build.completed',
          time,
          durationMs: e.durationMs,
          ...(e.imageId !== undefined ? { imageId: e.imageId } : {}),
          ...(e.manifestDigest !== undefined ? { manifestDigest: e.manifestDigest } : {}),
          ...(e.size !== undefined ? { size: e.size } : {}),
          stepsRun: e.stepsRun,
          stepsCached: e.stepsCached,
          ...(e.stepsSkipped ? { stepsSkipped: e.stepsSkipped } : {}),
        });
        return;
    }
  };
  const fail = (err: unknown): void => {
    const time = iso(Date.now());
    if (err instanceof TsbuildError) {
      out({
        v: 1,
        type: 'build.error',
        time,
        code: err.code,
        message: err.message,
        ...(err.file !== undefined ? { file: err.file } : {}),
        ...(err.range ? { line: err.range.start.line, col: err.range.start.col } : {}),
        exitCode: err.exitCode,
      });
    } else out({ v: 1, type: 'build.error', time, code: 'internal', message: err instanceof Error ? err.message : String(err), exitCode: 1 });
  };
  return { emit, fail };
}
