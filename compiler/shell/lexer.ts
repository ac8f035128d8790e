/**
 * BuildKit's Dockerfile word expansion (frontend/dockerfile/shell/lex.go), re-implemented from its documented
 * and tested behaviour. One left-to-right pass over the word's code points: quotes are removed, escapes resolved
 * and `$` expansions substituted, while a parallel "words" view splits the result on unquoted whitespace that came
 * from the source or from an unquoted expansion (ProcessWords).
 */
import { MAX_NESTING, ShellExpansionError, type ShellExpansionReason } from './errors.ts';
import { InvalidPatternError, replaceAll, replaceFirst, trimPrefix, trimSuffix } from './pattern.ts';

/** Lexer switches; every field defaults to BuildKit's default (false / `\`). */
export interface ShellLexOptions {
  /** The Dockerfile's escape token (`# escape=` directive). Default `\`. */
  escape?: '\\' | '`';
  /** Keep quote characters in the output (quotes still group and still stop word splitting). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the output (the escaped character is still taken literally). Upstream `RawEscapes`. */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written (`$X`, `${X}`, `${X:-w}` with its word expanded). */
  skipUnsetEnv?: boolean;
  /** Treat `'` and `"` as ordinary characters. */
  skipProcessQuotes?: boolean;
  /** Windows: variable names match case-insensitively (`$pwd` finds `PWD`); among keys equal up to case the last wins. */
  caseInsensitiveEnv?: boolean;
}

/** Variable lookups: a Map from name to value (a name present with '' is set-but-empty). */
export type ShellEnv = ReadonlyMap<string, string>;

/** The result of expanding one word. */
export interface ExpandResult {
  /** The expanded word; whitespace is kept as is (no splitting). */
  value: string;
  /** Names referenced that were set (possibly to ''), as written in the word. */
  matched: ReadonlySet<string>;
  /** Names referenced that were unset, as written (positional/special parameters such as `1` or `@` included). */
  unmatched: ReadonlySet<string>;
}

/** The result of expanding and then splitting a word list. */
export interface ExpandWordsResult {
  /** The words after expansion, split on unquoted whitespace; empty words are dropped (`""` alone yields none). */
  words: string[];
  matched: ReadonlySet<string>;
  unmatched: ReadonlySet<string>;
}

/** Thrown inside the lexer and turned into a ShellExpansionError at the API boundary. */
class LexFailure {
  readonly detail: string;
  readonly reason: ShellExpansionReason;
  readonly offset: number;
  readonly variable: string | undefined;
  constructor(detail: string, reason: ShellExpansionReason, offset: number, variable?: string) {
    this.detail = detail;
    this.reason = reason;
    this.offset = offset;
    this.variable = variable;
  }
}

/** Go's unicode.IsSpace is exactly the Unicode White_Space property. */
const SPACE = /^\p{White_Space}$/u;
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

/** Accumulates the ProcessWords view. Mirrors upstream's wordsStruct, quirks included. */
class WordCollector {
  word = '';
  words: string[] = [];
  inWord = false;

  addChar(ch: string): void {
    if (SPACE.test(ch)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }

  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }

  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }

  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }

  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** Upper-cases rune by rune like Go's strings.ToUpper (no 'ß' → 'SS' expansions). */
function goUpper(s: string): string {
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    out += up.length === ch.length || Array.from(up).length === 1 ? up : ch;
  }
  return out;
}

class WordLexer {
  private readonly src: string;
  private pos: number;
  private readonly escape: string;
  private readonly rawQuotes: boolean;
  private readonly skipUnset: boolean;
  private readonly processQuotes: boolean;
  private rawEscapes: boolean;
  private depth = 0;
  private readonly lookup: (name: string) => string | undefined;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(src: string, env: ShellEnv, opts: ShellLexOptions) {
    this.src = src;
    // Go's text/scanner silently drops a byte-order mark at the very start.
    this.pos = src.charCodeAt(0) === 0xfeff ? 1 : 0;
    this.escape = opts.escape ?? '\\';
    this.rawQuotes = opts.rawQuotes ?? false;
    this.rawEscapes = opts.rawEscapes ?? false;
    this.skipUnset = opts.skipUnsetEnv ?? false;
    this.processQuotes = !(opts.skipProcessQuotes ?? false);
    if (opts.caseInsensitiveEnv === true) {
      const folded = new Map<string, string>();
      for (const [k, v] of env) folded.set(goUpper(k), v);
      this.lookup = (name) => folded.get(goUpper(name));
    } else {
      this.lookup = (name) => env.get(name);
    }
  }

  private peek(): string | undefined {
    if (this.pos >= this.src.length) return undefined;
    return this.src.codePointAt(this.pos)! > 0xffff ? this.src.slice(this.pos, this.pos + 2) : this.src[this.pos];
  }

  private next(): string | undefined {
    const ch = this.peek();
    if (ch !== undefined) this.pos += ch.length;
    return ch;
  }

  private getEnv(name: string): string | undefined {
    const v = this.lookup(name);
    if (v === undefined) this.unmatched.add(name);
    else this.matched.add(name);
    return v;
  }

  /**
   * Process until `stop` (consumed) or the end of the word. Reaching the end while looking for `stop` is an
   * error that the caller rewords. `collect` builds the split-words view (only the top level needs it).
   */
  processStopOn(stop: string | undefined, rawEscapes: boolean, collect: boolean): { value: string; words: string[] } {
    const savedRaw = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    if (++this.depth > MAX_NESTING) {
      throw new LexFailure(`expression nested more than ${MAX_NESTING} levels deep`, 'too-deep', this.pos);
    }
    try {
      let result = '';
      const words = collect ? new WordCollector() : undefined;
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.next();
          return { value: result, words: words?.finish() ?? [] };
        }
        if (ch === '$' || (this.processQuotes && (ch === "'" || ch === '"'))) {
          const tmp = ch === '$' ? this.processDollar() : ch === "'" ? this.processSingleQuote() : this.processDoubleQuote();
          result += tmp;
          // Expanded text is split on whitespace; quoted text is kept whole.
          if (ch === '$') words?.addString(tmp);
          else words?.addRawString(tmp);
          continue;
        }
        this.next();
        if (ch === this.escape) {
          if (this.rawEscapes) {
            words?.addRawChar(ch);
            result += ch;
          }
          const escaped = this.next();
          if (escaped === undefined) break; // a trailing escape is dropped
          words?.addRawChar(escaped);
          result += escaped;
        } else {
          words?.addChar(ch);
          result += ch;
        }
      }
      if (stop !== undefined) {
        throw new LexFailure(`unexpected end of statement while looking for matching ${stop}`, 'missing-brace', this.pos);
      }
      return { value: result, words: words?.finish() ?? [] };
    } finally {
      this.rawEscapes = savedRaw;
      this.depth--;
    }
  }

  /** `'...'`: everything literal up to the next `'`; there is no escape. */
  private processSingleQuote(): string {
    const start = this.pos;
    this.next();
    let result = this.rawQuotes ? "'" : '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) {
        throw new LexFailure(
          'unexpected end of statement while looking for matching single-quote',
          'unterminated-quote',
          start,
        );
      }
      if (ch === "'") return this.rawQuotes ? result + ch : result;
      result += ch;
    }
  }

  /** `"..."`: literal except `$` expansions and the escape token before `"`, `$` or itself. */
  private processDoubleQuote(): string {
    const start = this.pos;
    this.next();
    let result = this.rawQuotes ? '"' : '';
    for (;;) {
      const peek = this.peek();
      if (peek === undefined) {
        throw new LexFailure(
          'unexpected end of statement while looking for matching double-quote',
          'unterminated-quote',
          start,
        );
      }
      if (peek === '"') {
        this.next();
        return this.rawQuotes ? result + peek : result;
      }
      if (peek === '$') {
        result += this.processDollar();
        continue;
      }
      let ch = this.next()!;
      if (ch === this.escape) {
        if (this.rawEscapes) result += ch;
        const after = this.peek();
        if (after === undefined) continue; // the closing-quote check above then fails
        if (after === '"' || after === '$' || after === this.escape) ch = this.next()!;
      }
      result += ch;
    }
  }

  private processDollar(): string {
    const start = this.pos;
    this.next();
    if (this.peek() !== '{') {
      const name = this.processName();
      if (name === '') return '$';
      const value = this.getEnv(name);
      if (value === undefined) return this.skipUnset ? '$' + name : '';
      return value;
    }

    this.next();
    const first = this.peek();
    if (first === undefined) throw new LexFailure("syntax error: missing '}'", 'missing-brace', start);
    if (first === '{' || first === '}' || first === ':') {
      throw new LexFailure('syntax error: bad substitution', 'bad-substitution', start);
    }
    const name = this.processName();
    let ch = this.next();
    // Upstream reports "unsupported modifier (\uFFFD)" here, an artifact of printing EOF; say what is wrong.
    if (ch === undefined) throw new LexFailure("syntax error: missing '}'", 'missing-brace', start);
    let chs = ch;
    let nullIsUnset = false;

    if (ch === '}') {
      const value = this.getEnv(name);
      if (value === undefined) return this.skipUnset ? `\${${name}}` : '';
      return value;
    }

    if (ch === '/') return this.processReplace(name, start);

    if (ch === ':') {
      nullIsUnset = true;
      ch = this.next();
      if (ch === undefined) throw new LexFailure("syntax error: missing '}'", 'missing-brace', start);
      chs += ch;
    } else if (ch !== '+' && ch !== '-' && ch !== '?' && ch !== '#' && ch !== '%') {
      throw new LexFailure(`unsupported modifier (${chs}) in substitution`, 'unsupported-modifier', start);
    }

    const isPattern = ch === '#' || ch === '%';
    if (nullIsUnset && isPattern) {
      throw new LexFailure(`unsupported modifier (${chs}) in substitution`, 'unsupported-modifier', start);
    }
    // Patterns keep their escapes so that `\*` reaches the glob compiler as a literal star.
    let word = this.nested(start, () => this.processStopOn('}', isPattern, false).value);

    const value = this.getEnv(name);
    if (this.skipUnset && value === undefined) return `\${${name}${chs}${word}}`;

    switch (ch) {
      case '-':
        return value === undefined || (nullIsUnset && value === '') ? word : value;
      case '+':
        return value === undefined || (nullIsUnset && value === '') ? '' : word;
      case '?':
        if (value === undefined) {
          throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, 'required-variable', start, name);
        }
        if (nullIsUnset && value === '') {
          throw new LexFailure(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, 'required-variable', start, name);
        }
        return value;
      case '#':
      case '%': {
        // `##`/`%%` arrive as a word starting with the modifier character.
        const greedy = word.startsWith(ch);
        if (greedy) word = word.slice(1);
        return this.withPattern(word, start, () =>
          ch === '%' ? trimSuffix(word, value ?? '', greedy) : trimPrefix(word, value ?? '', greedy),
        );
      }
      default:
        throw new LexFailure(`unsupported modifier (${chs}) in substitution`, 'unsupported-modifier', start);
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`, after the first `/`. */
  private processReplace(name: string, start: number): string {
    const all = this.peek() === '/';
    if (all) this.next();
    const pattern = this.nested(start, () => this.processStopOn('/', true, false).value, "syntax error: missing '/' in ${}");
    const replacement = this.nested(start, () => this.processStopOn('}', true, false).value);
    const value = this.getEnv(name);
    // Upstream prints one slash here even for `//`; kept for fidelity.
    if (this.skipUnset && value === undefined) return `\${${name}/${pattern}/${replacement}}`;
    return this.withPattern(pattern, start, () =>
      all ? replaceAll(pattern, value ?? '', replacement) : replaceFirst(pattern, value ?? '', replacement),
    );
  }

  /**
   * Run a nested processStopOn for the body of `${...}`. Any failure that ran into the end of the word becomes
   * "missing '}'" (or `eofMessage`), as upstream does; failures in the middle keep their own message.
   */
  private nested(start: number, fn: () => string, eofMessage = "syntax error: missing '}'"): string {
    try {
      return fn();
    } catch (e) {
      if (e instanceof LexFailure && this.peek() === undefined && e.reason !== 'too-deep') {
        throw new LexFailure(eofMessage, eofMessage.includes("'/'") ? 'missing-slash' : 'missing-brace', start);
      }
      throw e;
    }
  }

  private withPattern(pattern: string, start: number, fn: () => string): string {
    try {
      return fn();
    } catch (e) {
      if (e instanceof InvalidPatternError) {
        throw new LexFailure(`invalid pattern (${pattern}) in substitution: ${e.message}`, 'invalid-pattern', start);
      }
      throw e;
    }
  }

  /** A name: letters, digits and `_`; or a run of digits (positional); or one special-parameter character. */
  private processName(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && DIGIT.test(ch)) {
        for (let d = this.peek(); d !== undefined && DIGIT.test(d); d = this.peek()) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) {
        this.next();
        return ch;
      }
      if (!LETTER.test(ch) && !DIGIT.test(ch) && ch !== '_') break;
      name += this.next();
    }
    return name;
  }
}

function run<T>(word: string, env: ShellEnv, opts: ShellLexOptions, f: (lx: WordLexer) => T): T {
  const lx = new WordLexer(word, env, opts);
  try {
    return f(lx);
  } catch (e) {
    if (e instanceof LexFailure) {
      throw new ShellExpansionError(word, e.detail, e.reason, e.offset, { variable: e.variable });
    }
    throw e;
  }
}

/**
 * Expand one word (BuildKit `ProcessWordWithMatches`): quotes removed, escapes resolved, variables substituted;
 * whitespace is kept. Throws ShellExpansionError (code `compile/expansion`) on malformed input or `${v?msg}`.
 */
export function processWord(word: string, env: ShellEnv, opts: ShellLexOptions = {}): ExpandResult {
  return run(word, env, opts, (lx) => {
    const { value } = lx.processStopOn(undefined, opts.rawEscapes ?? false, false);
    return { value, matched: lx.matched, unmatched: lx.unmatched };
  });
}

/**
 * Expand, then split into words on whitespace that is neither quoted nor escaped (BuildKit `ProcessWords`).
 * Whitespace produced by an unquoted expansion splits too: `$X` with X=`a b` gives two words.
 */
export function processWords(word: string, env: ShellEnv, opts: ShellLexOptions = {}): ExpandWordsResult {
  return run(word, env, opts, (lx) => {
    const { words } = lx.processStopOn(undefined, opts.rawEscapes ?? false, true);
    return { words, matched: lx.matched, unmatched: lx.unmatched };
  });
}
