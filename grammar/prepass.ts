/**
 * The line-oriented pre-pass: physical lines → logical lines, exactly as BuildKit's Parse loop reads them.
 * It owns everything that is about lines rather than instruction syntax: BOM, CRLF, parser directives (and when
 * scanning for them stops), comment lines (dropped inside continuations), the escape-token continuation rule,
 * empty continuation lines (a warning), the 64 KiB line limit, and heredoc bodies (which are read after their
 * instruction line, so the pre-pass asks `heredocsFor` which heredocs a finished logical line names).
 */
import type { Comment, Directive } from './ast.ts';
import type { Diagnostic } from '../util/errors.ts';
import type { Position, Range } from '../util/position.ts';
import { isSpace } from './words.ts';
import type { HeredocMarker } from './heredoc-words.ts';

/** Where a run of a logical line's characters comes from: `j` in the joined line ↔ `src` in the source. */
export interface Segment {
  readonly j: number;
  readonly src: number;
  readonly line: number;
  readonly col: number;
}

/** A heredoc whose body the pre-pass has read. */
export interface HeredocBody {
  readonly marker: HeredocMarker;
  /** Body as read: every line with its own line ending (`\n` or `\r\n`), tabs not stripped. */
  readonly rawContent: string;
  readonly contentRange: Range;
  /** End of the terminator line (or of the file, when unterminated). */
  readonly end: Position;
  readonly terminated: boolean;
}

export interface LogicalLine {
  /** The joined line (BuildKit's `Node.Original`). */
  readonly text: string;
  readonly segs: readonly Segment[];
  /** First and last physical line consumed (1-based), heredoc bodies included. */
  readonly startLine: number;
  endLine: number;
  /** End of the last consumed physical line (line ending excluded). */
  end: Position;
  /** BuildKit's PrevComment: comment lines since the previous instruction (an empty `#` resets them). */
  readonly comments: readonly Comment[];
  heredocs: readonly HeredocBody[];
}

export interface PrepassResult {
  readonly lines: LogicalLine[];
  readonly directives: Directive[];
  readonly escape: '\\' | '`';
  readonly comments: Comment[];
  readonly warnings: Diagnostic[];
  readonly errors: Diagnostic[];
  /** Position just after the last character of the text. */
  readonly eof: Position;
}

/** BuildKit's bufio.Scanner limit: a physical line may hold at most 65535 bytes (UTF-8). */
export const MAX_LINE_BYTES = 65535;

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const VALID_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/**
 * Runs the pre-pass. `heredocsFor(text)` is called for each finished logical line that contains `<<` and must
 * return the heredocs it names (empty when its instruction cannot take heredocs); it may throw a Diagnostic-like
 * problem by returning it in `error`.
 */
export function prepass(
  src: string,
  file: string | undefined,
  heredocsFor: (text: string, posAt: (i: number) => Position) => { markers: HeredocMarker[]; error?: Diagnostic },
): PrepassResult {
  const lines: LogicalLine[] = [];
  const directives: Directive[] = [];
  const comments: Comment[] = [];
  const warnings: Diagnostic[] = [];
  const errors: Diagnostic[] = [];
  let escape: '\\' | '`' = '\\';
  let esc = 0x5c;
  const seen = new Set<string>();
  let directivesDone = false;
  let prevComments: Comment[] = [];
  const withFile = file !== undefined ? { file } : {};

  // physical line cursor
  let p = 0; // offset of the next physical line
  let lineNo = 0; // number of the last physical line read (1-based)
  const n = src.length;
  let ls = 0; // current physical line: start
  let le = 0; // end, line ending excluded (\r and \n trimmed)
  let lnext = 0; // start of the following line

  const next = (): boolean => {
    if (p >= n) return false;
    ls = p;
    let nl = src.indexOf('\n', p);
    if (nl === -1) nl = n;
    lnext = nl + 1;
    le = nl;
    while (le > ls && src.charCodeAt(le - 1) === 0x0d) le--;
    p = lnext;
    lineNo++;
    if (le - ls > MAX_LINE_BYTES / 3 && utf8Length(src, ls, nl) > MAX_LINE_BYTES) {
      errors.push({
        code: 'parse/line-too-long',
        severity: 'error',
        message: `dockerfile line greater than max allowed size of ${MAX_LINE_BYTES}`,
        ...withFile,
        range: { start: { line: lineNo, col: 1, offset: ls }, end: { line: lineNo, col: le - ls + 1, offset: le } },
      });
    }
    return true;
  };
  const at = (off: number): Position => ({ line: lineNo, col: off - ls + 1, offset: off });

  /** Offset of the first non-space character of the current line (unicode.IsSpace, as trimLeadingWhitespace). */
  const firstNonSpace = (): number => {
    let i = ls;
    while (i < le && isSpace(src.charCodeAt(i))) i++;
    return i;
  };

  /** The continuation rule `([^E])E[ \t]*$|^E[ \t]*$` on [a, b): the end of the kept text, or -1. */
  const continuationCut = (a: number, b: number): number => {
    let k = b;
    while (k > a && (src.charCodeAt(k - 1) === 0x20 || src.charCodeAt(k - 1) === 0x09)) k--;
    if (k === a || src.charCodeAt(k - 1) !== esc) return -1;
    if (k - 1 > a && src.charCodeAt(k - 2) === esc) return -1;
    return k - 1;
  };

  const commentAt = (hash: number): Comment => ({
    text: src.slice(hash + 1, le),
    range: { start: at(hash), end: at(le) },
  });

  while (next()) {
    const fs = firstNonSpace();
    const isComment = fs < le && src.charCodeAt(fs) === 0x23;

    if (!directivesDone) {
      let handled = false;
      if (isComment) {
        let k = fs + 1;
        while (k < le && isSpace(src.charCodeAt(k))) k++;
        const m = DIRECTIVE_RE.exec(src.slice(k, le));
        const key = m?.[1]?.toLowerCase();
        if (m && key !== undefined && VALID_DIRECTIVES.has(key)) {
          handled = true;
          const range: Range = { start: at(fs), end: at(le) };
          const value = m[2]!;
          if (seen.has(key)) {
            errors.push({ code: 'parse/duplicate-directive', severity: 'error', message: `only one ${key} parser directive can be used`, ...withFile, range });
          } else {
            seen.add(key);
            if (key === 'escape' && value !== '`' && value !== '\\') {
              errors.push({
                code: 'parse/invalid-escape',
                severity: 'error',
                message: `invalid escape token '${value}' does not match \` or \\`,
                ...withFile,
                range,
                suggestion: 'use "# escape=\\" or "# escape=`"',
              });
            } else {
              if (key === 'escape') {
                escape = value as '\\' | '`';
                esc = escape.charCodeAt(0);
              }
              directives.push({ name: key, value, range });
            }
          }
        }
      }
      if (!handled) directivesDone = true;
      if (handled) continue;
    }

    if (isComment) {
      const c = commentAt(fs);
      comments.push(c);
      if (c.text.trim() === '') prevComments = [];
      else prevComments.push(c);
      continue;
    }
    if (fs === le) continue; // blank line

    const startLine = lineNo;
    const segs: Segment[] = [];
    let text = '';
    let cut = continuationCut(fs, le);
    segs.push({ j: 0, src: fs, line: lineNo, col: fs - ls + 1 });
    text = src.slice(fs, cut === -1 ? le : cut);
    let end = at(le);
    let emptyLine: Range | undefined;
    while (cut !== -1 && next()) {
      end = at(le);
      const f = firstNonSpace();
      if (f < le && src.charCodeAt(f) === 0x23) {
        comments.push(commentAt(f));
        continue;
      }
      if (f === le) {
        emptyLine ??= { start: at(ls), end: at(le) };
        continue;
      }
      cut = continuationCut(ls, le);
      segs.push({ j: text.length, src: ls, line: lineNo, col: 1 });
      text += src.slice(ls, cut === -1 ? le : cut);
    }
    if (emptyLine) {
      warnings.push({
        code: 'parse/empty-continuation',
        severity: 'warning',
        message: `Empty continuation line found in: ${text}`,
        ...withFile,
        range: emptyLine,
        suggestion: 'empty continuation lines will become errors in a future release; remove the blank line',
      });
    }
    const ll: LogicalLine = { text, segs, startLine, endLine: lineNo, end, comments: prevComments, heredocs: [] };
    prevComments = [];
    lines.push(ll);

    if (text.includes('<<')) {
      const { markers, error } = heredocsFor(text, (i) => positionIn(ll, i));
      if (error) errors.push(error);
      const bodies: HeredocBody[] = [];
      for (const marker of markers) {
        const bodyStart: Position = p <= n ? { line: lineNo + 1, col: 1, offset: p } : end;
        let content = '';
        let terminated = false;
        let contentEnd = bodyStart;
        while (next()) {
          let t = ls;
          if (marker.chomp) while (t < le && src.charCodeAt(t) === 0x09) t++;
          if (le - t === marker.name.length && src.startsWith(marker.name, t)) {
            terminated = true;
            end = at(le);
            break;
          }
          content += src.slice(ls, Math.min(lnext, n));
          end = at(le);
          contentEnd = lnext <= n ? { line: lineNo + 1, col: 1, offset: lnext } : at(le);
        }
        if (!terminated) {
          errors.push({
            code: 'parse/unterminated-heredoc',
            severity: 'error',
            message: `unterminated heredoc ${marker.name}: no line "${marker.name}" ends it`,
            ...withFile,
            range: { start: positionIn(ll, marker.start), end: positionAfter(ll, marker.end) },
            suggestion: `end the heredoc with a line that holds exactly "${marker.name}"`,
          });
        }
        bodies.push({ marker, rawContent: content, contentRange: { start: bodyStart, end: contentEnd }, end, terminated });
      }
      ll.heredocs = bodies;
      ll.endLine = lineNo;
      ll.end = end;
    } else ll.end = end;
  }

  const eof: Position = lineNo === 0 ? { line: 1, col: 1, offset: 0 } : src.endsWith('\n') ? { line: lineNo + 1, col: 1, offset: n } : at(n);
  return { lines, directives, escape, comments, warnings, errors, eof };
}

/** Source position of index `i` of a logical line (i may equal the text length: just after the last char). */
export function positionIn(l: { readonly segs: readonly Segment[] }, i: number): Position {
  const segs = l.segs;
  let k = segs.length - 1;
  while (k > 0 && segs[k]!.j > i) k--;
  const s = segs[k]!;
  const d = i - s.j;
  return { line: s.line, col: s.col + d, offset: s.src + d };
}

/** Exclusive end position for a piece ending at index `end` (stays on the line of its last character). */
export function positionAfter(l: { readonly segs: readonly Segment[] }, end: number): Position {
  if (end <= 0) return positionIn(l, 0);
  const p = positionIn(l, end - 1);
  return { line: p.line, col: p.col + 1, offset: p.offset + 1 };
}

/** UTF-8 length of src[a, b) without allocating (lone surrogates count 3 bytes, as their U+FFFD would). */
function utf8Length(src: string, a: number, b: number): number {
  let bytes = 0;
  for (let i = a; i < b; i++) {
    const c = src.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < b && (src.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
