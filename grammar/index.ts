/**
 * The Dockerfile grammar: `parse` (strict, throws TsbuildError), `parseTolerant` (collects every problem),
 * printers, and BuildKit's word splitters for the compiler and the linter. See grammar/README.md for the design.
 */
export { parse, parseTolerant, type ParseOptions, type TolerantResult } from './parse.ts';
export { dumpBuildkit, toJson, goQuote } from './dump.ts';
export { parseHeredocWord, heredocsFromLine, ShellWordError, type HeredocWord, type HeredocMarker } from './heredoc-words.ts';
export { detectSyntax, type DetectedSyntax } from './directives.ts';
import { parseWords as parseWordsAt, splitWhitespace, decodeJsonArray, type Piece } from './words.ts';
export type { Piece } from './words.ts';
export type * from './ast.ts';

/**
 * BuildKit's quote-aware word splitter for ENV/LABEL/ARG (`parseWords`): splits on unquoted whitespace and keeps
 * quotes and escape characters in the words. Offsets are 0-based indexes into `text`.
 */
export function splitBuildkitWords(text: string, escape: '\\' | '`' = '\\'): Piece[] {
  return parseWordsAt(text, escape);
}

/** Splits on runs of `[\t\v\f\r ]` as BuildKit does for FROM/EXPOSE and shell-form COPY/ADD/VOLUME. */
export function splitWhitespaceWords(text: string): Piece[] {
  return splitWhitespace(text);
}

/**
 * BuildKit's parseJSON on an argument string: the strings of a JSON array, `'not-strings'` for a valid array
 * holding a non-string (a hard error), or `undefined` when the text is not a JSON array (shell form).
 */
export function parseJsonArray(text: string): string[] | 'not-strings' | undefined {
  const r = decodeJsonArray(text);
  if (r.kind === 'array') return r.items.map((p) => p.value);
  return r.kind === 'not-strings' ? 'not-strings' : undefined;
}
