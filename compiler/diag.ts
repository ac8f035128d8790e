/** Compile errors: every one a TsbuildError with a stable code, the Dockerfile path and the offending range. */
import { TsbuildError, closest } from '../util/errors.ts';
import type { Range } from '../util/position.ts';

/** Where a diagnostic points: the Dockerfile path (if known) and a range in it. */
export interface At {
  readonly file: string | undefined;
  readonly range: Range;
}

export function compileError(code: string, message: string, at: At | undefined, suggestion?: string): TsbuildError {
  return new TsbuildError(code, message, {
    file: at?.file,
    range: at?.range,
    ...(suggestion !== undefined ? { suggestion } : {}),
  });
}

/** "did you mean X?" for `word` among `candidates`, or undefined. */
export function didYouMean(word: string, candidates: Iterable<string>, format: (c: string) => string = (c) => c): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean ${format(c)}?`;
}

/** Re-throws a TsbuildError without a position at `at`; other errors pass through. */
export function locate<T>(at: At, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TsbuildError && e.range === undefined) {
      throw new TsbuildError(e.code, e.message, {
        file: at.file,
        range: at.range,
        suggestion: e.suggestion,
        exitCode: e.exitCode,
        cause: e,
      });
    }
    throw e;
  }
}
