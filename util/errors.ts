import type { Range } from './position.ts';

/** How bad a diagnostic is. */
export type Severity = 'error' | 'warning' | 'info' | 'style';

/**
 * A diagnostic is a value: parse warnings, compile errors and lint findings all use it.
 * `code` is a stable string (`parse/unterminated-heredoc`, `compile/unknown-instruction`, `DL3008`, ...).
 */
export interface Diagnostic {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  /** The Dockerfile path as the user named it, when known. */
  readonly file?: string;
  readonly range?: Range;
  /** A short hint such as "did you mean COPY?". */
  readonly suggestion?: string;
}

/**
 * The one error type every layer throws for expected failures (bad input, failed step, missing image).
 * Bugs are ordinary Errors. The CLI renders a TsbuildError as `FILE:LINE:COL: error: message` plus a code frame,
 * and exits with `exitCode` (1 for build/lint failure, 2 for usage errors) and never prints its stack.
 */
export class TsbuildError extends Error {
  readonly code: string;
  readonly file: string | undefined;
  readonly range: Range | undefined;
  readonly suggestion: string | undefined;
  readonly exitCode: number;
  /** Further diagnostics (e.g. every problem found in tolerant parsing). */
  readonly diagnostics: readonly Diagnostic[];

  constructor(
    code: string,
    message: string,
    opts: {
      file?: string | undefined;
      range?: Range | undefined;
      suggestion?: string | undefined;
      exitCode?: number;
      diagnostics?: readonly Diagnostic[];
      cause?: unknown;
    } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'TsbuildError';
    this.code = code;
    this.file = opts.file;
    this.range = opts.range;
    this.suggestion = opts.suggestion;
    this.exitCode = opts.exitCode ?? 1;
    this.diagnostics = opts.diagnostics ?? [];
  }

  toDiagnostic(): Diagnostic {
    return {
      code: this.code,
      severity: 'error',
      message: this.message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      ...(this.range !== undefined ? { range: this.range } : {}),
      ...(this.suggestion !== undefined ? { suggestion: this.suggestion } : {}),
    };
  }
}

export type Result<T, E = Diagnostic> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

/** Levenshtein-based "did you mean" helper: the closest candidate within a small distance, or undefined. */
export function closest(word: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    // The distance is at least the difference in length: no need to compute it when that already loses.
    if (Math.abs(lc.length - w.length) >= bestD) continue;
    const d = editDistance(w, lc);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}
