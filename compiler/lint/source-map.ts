/**
 * Maps offsets inside an instruction's joined text (continuations removed, as in `Word.value`) back to source
 * positions, so a finding inside a RUN points at the real line and column, also across `\` continuations and
 * inside heredoc bodies.
 */
import type { Heredoc, Word } from '../../grammar/ast.ts';
import type { Position, Range } from '../../util/position.ts';

/** Line starts of a text (0-based offsets), for offset → line/col. */
export class LineIndex {
  private readonly starts: number[];
  readonly text: string;
  constructor(text: string) {
    this.text = text;
    this.starts = [0];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  /** Position of a 0-based offset (clamped to the text). */
  at(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: o - this.starts[lo]! + 1, offset: o };
  }
  /** Offset of the start of a 1-based line. */
  lineStart(line: number): number {
    return this.starts[Math.max(0, Math.min(line - 1, this.starts.length - 1))]!;
  }
  /** The text of a 1-based line without its line ending. */
  lineText(line: number): string {
    const s = this.lineStart(line);
    let e = this.text.indexOf('\n', s);
    if (e < 0) e = this.text.length;
    if (e > s && this.text[e - 1] === '\r') e--;
    return this.text.slice(s, e);
  }
}

/** Maps offsets of a word's joined value to source offsets. */
export interface OffsetMap {
  /** Source offset of value index `i` (0 ≤ i ≤ value.length). */
  source(i: number): number;
  range(start: number, end: number): Range;
}

/**
 * Aligns a word's joined value with the source from the word's start: the source differs from the value only
 * by removed continuations (escape, trailing blanks, line end) and the comment and blank lines dropped inside
 * a continuation.
 */
export function wordOffsetMap(word: Word, lines: LineIndex, escape: '\\' | '`'): OffsetMap {
  const src = lines.text;
  const value = word.value;
  const base = word.range.start.offset;
  if (src.startsWith(value, base)) {
    // one physical line (the common case): offsets shift by the word's start
    return {
      source: (i) => base + Math.max(0, Math.min(i, value.length)),
      range: (a, b) => ({ start: lines.at(base + a), end: lines.at(base + Math.max(a, b)) }),
    };
  }
  // Built on first use: most RUNs produce no finding, so most maps are never asked.
  let built: ((i: number) => number) | undefined;
  const at = (i: number): number => (built ??= buildOffsetMap(src, value, base, escape))(Math.max(0, Math.min(i, value.length)));
  return {
    source: at,
    range(a, b) {
      const start = lines.at(at(a));
      const endSrc = b > a ? at(Math.min(b - 1, value.length)) + 1 : start.offset;
      return { start, end: lines.at(endSrc) };
    },
  };
}

/**
 * value index → source offset for a word spanning continuation lines (see {@link wordOffsetMap}), as segments: the
 * value is the source with continuations (and the comment/blank lines inside them) cut out, so between two cuts
 * offsets shift by a constant. The scan jumps from one escape character to the next (indexOf), not char by char.
 */
function buildOffsetMap(src: string, value: string, base: number, escape: '\\' | '`'): (i: number) => number {
  const segV: number[] = [0];
  const segS: number[] = [base];
  let s = base;
  let v = 0;
  const atContinuation = (k: number): number => {
    // returns the offset of the next line start if src[k] (an escape) begins a continuation, else -1
    let j = k + 1;
    while (src[j] === ' ' || src[j] === '\t') j++;
    if (src[j] === '\r') j++;
    if (src[j] !== '\n' && j < src.length) return -1;
    // BuildKit's rule `([^E])E[ \t]*$|^E[ \t]*$`: a doubled escape at the end is not a continuation
    if (k > 0 && src[k - 1] === escape) return -1;
    return j + 1;
  };
  const skipDropped = (k: number): number => {
    // comment lines and blank lines inside a continuation are dropped
    for (;;) {
      let j = k;
      while (src[j] === ' ' || src[j] === '\t') j++;
      if (j < src.length && (src[j] === '#' || src[j] === '\n' || src[j] === '\r')) {
        const nl = src.indexOf('\n', j);
        if (nl < 0) return src.length;
        k = nl + 1;
        continue;
      }
      return k;
    }
  };
  while (v < value.length && s < src.length) {
    const k = src.indexOf(escape, s);
    const stop = k < 0 ? src.length : k;
    // everything before the next escape maps one to one
    const take = Math.min(stop - s, value.length - v);
    v += take;
    s += take;
    if (v >= value.length || s >= src.length || s !== k) break;
    const next = atContinuation(s);
    if (next >= 0) {
      s = skipDropped(next);
      segV.push(v);
      segS.push(s);
    } else {
      v++;
      s++;
    }
  }
  // Past the scan's end (normally value.length) every index maps to where it stopped.
  const vEnd = v;
  const sEnd = s;
  return (i) => {
    if (i >= vEnd) return sEnd;
    let lo = 0;
    let hi = segV.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segV[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return segS[lo]! + (i - segV[lo]!);
  };
}

/** Maps offsets inside a heredoc body (`Heredoc.content`) to source positions, line by line. */
export function heredocOffsetMap(h: Heredoc, lines: LineIndex): OffsetMap {
  const content = h.content;
  const lineStarts = [0];
  for (let i = content.indexOf('\n'); i >= 0 && i + 1 < content.length; i = content.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const first = h.contentRange.start.line;
  const toSource = (i: number): number => {
    let k = 0;
    while (k + 1 < lineStarts.length && lineStarts[k + 1]! <= i) k++;
    const srcLine = lines.lineStart(first + k);
    let tabs = 0;
    if (h.chomp) while (lines.text[srcLine + tabs] === '\t') tabs++;
    return srcLine + tabs + (i - lineStarts[k]!);
  };
  return {
    source: toSource,
    range(a, b) {
      const start = lines.at(toSource(a));
      return { start, end: lines.at(b > a ? toSource(b - 1) + 1 : start.offset) };
    },
  };
}
