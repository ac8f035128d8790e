/**
 * Orchestration: pre-pass (lines) → one Chevrotain pass over all logical lines (tokens → CST) → visitor (AST).
 * Problems are always collected; `parse` throws the first (in file order), `parseTolerant` returns them all.
 */
import type { Dockerfile, Instruction } from './ast.ts';
import { TsbuildError, type Diagnostic } from '../util/errors.ts';
import type { Position } from '../util/position.ts';
import { parseLines } from './cst.ts';
import { buildInstruction, type BuildContext } from './build.ts';
import { prepass, type LogicalLine } from './prepass.ts';
import { heredocsFromLine, ShellWordError, type HeredocMarker } from './heredoc-words.ts';

/** Options for parse/parseTolerant. */
export interface ParseOptions {
  /** The path as the user named it, put into diagnostics. */
  readonly file?: string;
}

/** parseTolerant's result: the best AST that could be built, and every error found (warnings are in the AST). */
export interface TolerantResult {
  readonly dockerfile: Dockerfile;
  readonly errors: Diagnostic[];
}

const HEREDOC_KINDS = new Set(['RUN', 'COPY', 'ADD']);

/** Parses a Dockerfile; throws a TsbuildError (code `parse/...`, file, range) for the first problem in file order. */
export function parse(text: string, opts: ParseOptions & { tolerant?: false } = {}): Dockerfile {
  const { dockerfile, errors } = parseTolerant(text, opts);
  const first = errors[0];
  if (first) {
    throw new TsbuildError(first.code, first.message, { file: first.file, range: first.range, suggestion: first.suggestion });
  }
  return dockerfile;
}

/** Parses without stopping at the first problem (for the linter and editors); never throws on any input. */
export function parseTolerant(text: string, opts: ParseOptions = {}): TolerantResult {
  const file = opts.file;
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // the escape token does not matter for heredoc detection (BuildKit hard-wires `\\` there)
  const pre = prepass(src, file, (line, posAt) => markersFor(line, posAt, file, '\\'));
  const errors: Diagnostic[] = [...pre.errors];
  const ctx: BuildContext = { escape: pre.escape, file, errors };

  const instructions: Instruction[] = [];
  if (pre.lines.length > 0) {
    let joined = '';
    const bases: number[] = [];
    for (const l of pre.lines) {
      bases.push(joined.length);
      joined += l.text + '\n';
    }
    const csts = parseLines(joined);
    for (let i = 0; i < pre.lines.length; i++) instructions.push(buildInstruction(csts[i]!, pre.lines[i]!, ctx, bases[i]!));
  } else {
    errors.push({
      code: 'parse/no-instructions',
      severity: 'error',
      message: 'file with no instructions',
      ...(file !== undefined ? { file } : {}),
      range: { start: pre.eof, end: pre.eof },
      suggestion: 'a Dockerfile needs at least a FROM instruction',
    });
  }
  errors.sort((a, b) => (a.range?.start.offset ?? 0) - (b.range?.start.offset ?? 0));
  const dockerfile: Dockerfile = {
    ...(file !== undefined ? { file } : {}),
    directives: pre.directives,
    escape: pre.escape,
    instructions,
    comments: pre.comments,
    warnings: pre.warnings,
    source: src,
  };
  return { dockerfile, errors };
}

/**
 * Which heredocs a logical line names: only RUN/COPY/ADD (or ONBUILD wrapping one) not in JSON form, as
 * BuildKit's canContainHeredoc. Called by the pre-pass, which then reads the bodies.
 */
function markersFor(
  text: string,
  posAt: (i: number) => Position,
  file: string | undefined,
  escape: '\\' | '`',
): { markers: HeredocMarker[]; error?: Diagnostic } {
  const [cst] = parseLines(text.replace(/\n/g, ' ') + '\n');
  const scratch: BuildContext = { escape, file, errors: [] };
  const pos0: Position = { line: 1, col: 1, offset: 0 };
  let ins: Instruction | undefined = buildInstruction(
    cst!,
    { text, segs: [{ j: 0, src: 0, line: 1, col: 1 }], end: pos0, comments: [], heredocs: [] },
    scratch,
  );
  if (ins.kind === 'ONBUILD') ins = ins.trigger;
  if (!ins || !HEREDOC_KINDS.has(ins.kind) || scratch.errors.length > 0) return { markers: [] };
  if ((ins.kind === 'RUN' && ins.command.form === 'exec') || ((ins.kind === 'COPY' || ins.kind === 'ADD') && ins.form === 'exec')) {
    return { markers: [] };
  }
  try {
    return { markers: heredocsFromLine(text) };
  } catch (e) {
    if (!(e instanceof ShellWordError)) throw e;
    const start = posAt(text.indexOf('<<'));
    return {
      markers: [],
      error: {
        code: 'parse/invalid-heredoc',
        severity: 'error',
        message: `invalid heredoc: ${e.message}`,
        ...(file !== undefined ? { file } : {}),
        range: { start, end: { ...start, col: start.col + 2, offset: start.offset + 2 } },
      },
    };
  }
}

export type { LogicalLine };
