import { TsbuildError } from '../../util/errors.ts';
import type { Range } from '../../util/position.ts';
import { goQuote } from './go-quote.ts';

/**
 * Why an expansion failed: a stable string for tests, lint and docs (the message text follows BuildKit and may
 * be reworded).
 * - `bad-substitution`: `${}`, `${:x}`, `${{x}`.
 * - `missing-brace`: `${x` or `${x:-y` runs to the end of the word.
 * - `missing-slash`: `${x/pattern` has no second `/`.
 * - `unterminated-quote`: a `'` or `"` is never closed.
 * - `unsupported-modifier`: `${x=y}`, `${x:=y}`, `${x:#p}`, `${x y}`, ...
 * - `required-variable`: `${x?msg}` with x unset, or `${x:?msg}` with x unset or empty.
 * - `invalid-pattern`: a `#`/`%`/`/` pattern with a bad escape such as `\a`.
 * - `too-deep`: nesting beyond {@link MAX_NESTING} (a tsbuild limit; BuildKit has none).
 */
export type ShellExpansionReason =
  | 'bad-substitution'
  | 'missing-brace'
  | 'missing-slash'
  | 'unterminated-quote'
  | 'unsupported-modifier'
  | 'required-variable'
  | 'invalid-pattern'
  | 'too-deep';

/** How many `${...}`/quote levels may nest before expansion gives up instead of exhausting the JS stack. */
export const MAX_NESTING = 1000;

/**
 * A word could not be expanded. `message` is BuildKit's: `failed to process "<word>": <detail>`.
 * `offset` is a 0-based UTF-16 index into `word` where the failing construct (`$`, `${`, a quote) starts, so a
 * caller that knows where the word sits in the Dockerfile can point a code frame at it (see {@link withLocation}).
 */
export class ShellExpansionError extends TsbuildError {
  /** The word as given to processWord/processWords. */
  readonly word: string;
  /** The message without the `failed to process "..."` prefix, e.g. `syntax error: bad substitution`. */
  readonly detail: string;
  readonly reason: ShellExpansionReason;
  /** 0-based UTF-16 offset into `word` of the construct that failed. */
  readonly offset: number;
  /** For `required-variable`: the variable's name as written. */
  readonly variable: string | undefined;

  constructor(
    word: string,
    detail: string,
    reason: ShellExpansionReason,
    offset: number,
    opts: { variable?: string | undefined; file?: string | undefined; range?: Range | undefined } = {},
  ) {
    super('compile/expansion', `failed to process ${goQuote(word)}: ${detail}`, {
      file: opts.file,
      range: opts.range,
      suggestion: suggestionFor(reason, opts.variable),
    });
    this.name = 'ShellExpansionError';
    this.word = word;
    this.detail = detail;
    this.reason = reason;
    this.offset = offset;
    this.variable = opts.variable;
  }

  /** The same error, placed at a Dockerfile location (errors are immutable, so this returns a copy). */
  withLocation(file: string | undefined, range: Range | undefined): ShellExpansionError {
    return new ShellExpansionError(this.word, this.detail, this.reason, this.offset, {
      variable: this.variable,
      file,
      range,
    });
  }
}

function suggestionFor(reason: ShellExpansionReason, variable: string | undefined): string | undefined {
  switch (reason) {
    case 'bad-substitution':
      return 'write \\${ (or quote it with single quotes) for a literal ${';
    case 'missing-brace':
      return "close the expansion with '}'";
    case 'unterminated-quote':
      return 'close the quote, or escape it with the escape character';
    case 'unsupported-modifier':
      return 'supported forms: ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?m} ${v?m} ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}';
    case 'required-variable':
      return variable === undefined ? undefined : `set ${variable} with ARG, ENV or --build-arg ${variable}=<value>`;
    case 'invalid-pattern':
      return 'in patterns only \\*, \\?, \\\\, \\/ and \\} are escapes';
    case 'missing-slash':
    case 'too-deep':
      return undefined;
  }
}
