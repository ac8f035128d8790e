/** The tsbuild library: the same engine the CLI uses. */
export * from './grammar/ast.ts';
export type { Diagnostic, Severity } from './util/errors.ts';
export { TsbuildError } from './util/errors.ts';
