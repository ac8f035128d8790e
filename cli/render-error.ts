import { TsbuildError, type Diagnostic } from '../util/errors.ts';
import type { Io } from './command.ts';

/**
 * Prints an error as `FILE:LINE:COL: error: message`, the offending source line with a caret under the range,
 * and a hint; returns the exit code. Unexpected (non-TsbuildError) errors print one line, never a stack trace,
 * unless TSBUILD_DEBUG is set.
 */
export function renderError(e: unknown, io: Io, source?: string): number {
  if (e instanceof TsbuildError) {
    const diags = e.diagnostics.length > 0 ? e.diagnostics : [e.toDiagnostic()];
    for (const d of diags) io.stderr.write(formatDiagnostic(d, source));
    if (io.env.TSBUILD_DEBUG) io.stderr.write(`${e.stack}\n`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  io.stderr.write(`tsbuild: internal error: ${msg}\n`);
  if (io.env.TSBUILD_DEBUG && e instanceof Error) io.stderr.write(`${e.stack}\n`);
  return 1;
}

/** `file:line:col: severity: message` + code frame (when the source text is known) + suggestion. */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  const where = d.range
    ? `${d.file ?? '<stdin>'}:${d.range.start.line}:${d.range.start.col}: `
    : d.file
      ? `${d.file}: `
      : '';
  let out = `${where}${d.severity}: ${d.message}\n`;
  if (d.range && source !== undefined) out += codeFrame(source, d.range.start.line, d.range.start.col, d.range.end);
  if (d.suggestion) out += `  hint: ${d.suggestion}\n`;
  return out;
}

/** The source line with a `^~~~` marker under [col, end) (clamped to the line). */
export function codeFrame(source: string, line: number, col: number, end?: { line: number; col: number }): string {
  const lines = source.split(/\r?\n/);
  const text = lines[line - 1];
  if (text === undefined) return '';
  const gutter = `${line} | `;
  const width = end && end.line === line ? Math.max(1, end.col - col) : Math.max(1, text.length - col + 1);
  const pad = text.slice(0, col - 1).replace(/[^\t]/g, ' ');
  return `${gutter}${text}\n${' '.repeat(gutter.length - 2)}| ${pad}^${'~'.repeat(Math.max(0, width - 1))}\n`;
}
