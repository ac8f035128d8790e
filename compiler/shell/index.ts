/**
 * Dockerfile word expansion, BuildKit-compatible (frontend/dockerfile/shell). Pure: no I/O.
 *
 * - {@link processWord}: one word → one string (ENV/LABEL/ARG values, WORKDIR, USER, FROM, COPY sources, ...).
 * - {@link processWords}: one string → words split on unquoted whitespace after expansion.
 * - {@link expandKeyValuePairs}: ENV/LABEL/ARG pairs as the parser leaves them (quotes kept) → final values.
 */
export {
  processWord,
  processWords,
  type ShellLexOptions,
  type ShellEnv,
  type ExpandResult,
  type ExpandWordsResult,
} from './lexer.ts';
export { ShellExpansionError, MAX_NESTING, type ShellExpansionReason } from './errors.ts';
export { envListToMap, envMapToList, expandKeyValuePairs, type RawKeyValue, type ExpandedKeyValues } from './env.ts';
