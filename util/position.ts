/**
 * Source positions shared by the grammar, the compiler, lint and the CLI's code frames.
 * `line` and `col` are 1-based; `offset` is a 0-based UTF-16 index into the original text (after BOM removal
 * the offset still counts from the start of the text as given to the parser, BOM excluded).
 */
export interface Position {
  readonly line: number;
  readonly col: number;
  readonly offset: number;
}

/** A half-open range: `start` is the first character, `end` the position just after the last one. */
export interface Range {
  readonly start: Position;
  readonly end: Position;
}

export function pos(line: number, col: number, offset: number): Position {
  return { line, col, offset };
}

export function range(start: Position, end: Position): Range {
  return { start, end };
}
