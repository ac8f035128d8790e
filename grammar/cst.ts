/**
 * The instruction-line grammar: Chevrotain tokens and a CST parser over logical lines (continuations already
 * joined by the pre-pass, one logical line per `\n`).
 *
 *   dockerfile := line*
 *   line       := (Keyword Flag* DoubleDash? Rest?)? Eol
 *
 * The lexer has two modes. `keyword` mode reads the instruction word; `flags` mode reads builder flags
 * (`--name[=value]`, quote-aware, as BuildKit's extractBuilderFlags), a bare `--` that ends them, and then the
 * rest of the line as one Rest token. What the rest means depends on the instruction (JSON, words, key=value
 * pairs), which the visitor decides; keeping that out of the grammar keeps the grammar free of semantics.
 *
 * Chevrotain is loaded, and the tokens, lexer and parser built, on the first parse, not when this module loads:
 * the compiler imports the grammar (for base images' ONBUILD triggers), and a build whose front end comes from the
 * store's cache (cache/frontend.ts) parses nothing, so it skips the ~10 ms of loading Chevrotain and the ~13 ms of
 * building the lexer and the parser.
 */
import type { CstNode, CstParser, IToken, Lexer, TokenType } from 'chevrotain';
import { chevrotain, type Chevrotain } from './chevrotain.ts';
import { scanFlagWord } from './words.ts';

const SPACE_CLASS = '\\t\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** The line grammar's lexer and parser class, built from a loaded Chevrotain. */
function lineGrammar({ CstParser, Lexer, createToken }: Chevrotain): { lexer: Lexer; LineParser: new (validate?: boolean) => CstParser & { dockerfile(): CstNode } } {
  const WS = createToken({ name: 'WS', pattern: new RegExp(`[${SPACE_CLASS}]+`), group: Lexer.SKIPPED });
  const Eol = createToken({ name: 'Eol', pattern: Lexer.NA });
  const EolKeyword = createToken({ name: 'EolKeyword', pattern: /\n/, line_breaks: true, categories: [Eol] });
  const EolFlags = createToken({ name: 'EolFlags', pattern: /\n/, line_breaks: true, categories: [Eol], pop_mode: true });
  /** The instruction word: everything up to `[\t\v\f\r ]` (BuildKit splits the keyword off on exactly those). */
  const Keyword = createToken({ name: 'Keyword', pattern: /[^\t\v\f\r \n]+/, push_mode: 'flags' });

  const afterDoubleDash = (tokens: IToken[]): boolean => {
    const last = tokens[tokens.length - 1];
    return last !== undefined && last.tokenType === DoubleDash;
  };
  /**
   * A word is a flag only if it starts with a raw `--`, as in extractBuilderFlags (a quoted `"--x"` is not one). The
   * modes are not first-character optimised, so the `-` start hint below does not filter: this test must.
   */
  const flagStart = (text: string, offset: number, tokens: IToken[]): boolean =>
    text.charCodeAt(offset) === 0x2d && text.charCodeAt(offset + 1) === 0x2d && !afterDoubleDash(tokens);

  /** `--` (after quote removal) ends the flags; the rest of the line is arguments even if it starts with `--`. */
  const DoubleDash: TokenType = createToken({
    name: 'DoubleDash',
    pattern: {
      exec: (text, offset, tokens) => {
        if (!flagStart(text, offset, tokens)) return null;
        const w = scanFlagWord(text, offset);
        return w.processed === '--' ? [text.slice(offset, w.end)] : null;
      },
    },
    line_breaks: false,
    start_chars_hint: ['-'],
  });

  /** `--name=value` or `--name`; the payload is the processed word (quotes removed, escapes applied). */
  const Flag = createToken({
    name: 'Flag',
    pattern: {
      exec: (text, offset, tokens) => {
        if (!flagStart(text, offset, tokens)) return null;
        const w = scanFlagWord(text, offset);
        const m: [string] & { payload?: string } = [text.slice(offset, w.end)];
        m.payload = w.processed;
        return m;
      },
    },
    line_breaks: false,
    start_chars_hint: ['-'],
  });

  /** Everything after the flags up to the end of the logical line (trailing blanks included; the visitor trims). */
  const Rest = createToken({
    name: 'Rest',
    // `[^\n]+` as an indexOf (memchr) instead of a regex walk: the rest of a line is most of a Dockerfile's text
    pattern: {
      exec: (text, offset) => {
        const e = text.indexOf('\n', offset);
        const end = e < 0 ? text.length : e;
        return end > offset ? [text.slice(offset, end)] : null;
      },
    },
    line_breaks: false,
  });

  const allTokens = [WS, Eol, EolKeyword, EolFlags, Keyword, DoubleDash, Flag, Rest];

  // Neither mode can use Chevrotain's first-character optimisation (Keyword is a complement class, Rest a custom
  // pattern without start characters), so `safeMode` skips the analysis that would find that out: 5 ms of start-up.
  const lexer = new Lexer(
    {
      modes: {
        keyword: [WS, EolKeyword, Keyword],
        flags: [WS, EolFlags, DoubleDash, Flag, Rest],
      },
      defaultMode: 'keyword',
    },
    { positionTracking: 'onlyOffset', safeMode: true, skipValidations: true },
  );

  /**
   * The grammar is fixed, so Chevrotain's grammar validations (ambiguities, left recursion…) are skipped at run time
   * (they cost ~25 ms of every CLI run that parses); test/grammar/misc.test.ts builds it with them on.
   */
  class LineParser extends CstParser {
    constructor(validate = false) {
      super(allTokens, { recoveryEnabled: false, nodeLocationTracking: 'none', maxLookahead: 1, skipValidations: !validate });
      this.performSelfAnalysis();
    }

    dockerfile = this.RULE('dockerfile', () => {
      this.MANY(() => this.SUBRULE(this.line));
    });

    line = this.RULE('line', () => {
      this.OPTION(() => {
        this.CONSUME(Keyword);
        this.MANY(() => this.CONSUME(Flag));
        this.OPTION2(() => this.CONSUME(DoubleDash));
        this.OPTION3(() => this.CONSUME(Rest));
      });
      this.CONSUME(Eol);
    });
  }
  return { lexer, LineParser };
}

/** A new line parser, with Chevrotain's grammar validations on when `validate` (for the tests). */
export function createLineParser(validate = false): CstParser {
  return new (lineGrammar(chevrotain()).LineParser)(validate);
}

/** Built on the first parse, once: Chevrotain parsers are reusable by setting `.input`. */
let built: { lexer: Lexer; parser: CstParser & { dockerfile(): CstNode } } | undefined;

/** The CST of one line, in the shape Chevrotain builds it. */
export interface LineCst extends CstNode {
  readonly children: {
    Keyword?: IToken[];
    Flag?: IToken[];
    DoubleDash?: IToken[];
    Rest?: IToken[];
    Eol: IToken[];
  };
}

/**
 * Tokenizes and parses logical lines joined by `\n` (the text must end with `\n`). Returns one CST node per
 * line. The lexer covers every character and the grammar accepts every token sequence the lexer can produce, so
 * a lexing or parsing error here is a bug, not bad input.
 */
export function parseLines(text: string): LineCst[] {
  if (!built) {
    const { lexer, LineParser } = lineGrammar(chevrotain());
    built = { lexer, parser: new LineParser() };
  }
  const { lexer, parser } = built;
  const lexed = lexer.tokenize(text);
  if (lexed.errors.length > 0) throw new Error(`grammar bug: lexer error: ${lexed.errors[0]!.message}`);
  parser.input = lexed.tokens;
  const cst = parser.dockerfile();
  if (parser.errors.length > 0) throw new Error(`grammar bug: parser error: ${parser.errors[0]!.message}`);
  return (cst.children['line'] ?? []) as LineCst[];
}
