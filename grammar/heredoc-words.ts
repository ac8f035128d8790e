/**
 * Heredoc recognition as BuildKit does it (parser.go heredocsFromLine / ParseHeredoc): the instruction line is
 * split into shell words by BuildKit's shell lexer (quotes and escapes kept, unset variables kept as written,
 * escape always `\`), and each word matching `^(\d*)<<(-?)\s*([^<]*)$` names a heredoc.
 *
 * Only the word-splitting half of the shell lexer is needed here (no variable is ever set), so this is a small
 * re-implementation of that half; compiler/ owns real word expansion.
 */
import { isSpace, type Piece } from './words.ts';

/** A heredoc named on an instruction line, before its body is read. */
export interface HeredocWord {
  readonly name: string;
  readonly fd?: number;
  readonly chomp: boolean;
  readonly expand: boolean;
}

/** A shell-lexing failure (unbalanced quote, bad `${}`), with BuildKit's message. */
export class ShellWordError extends Error {
  override readonly name = 'ShellWordError';
}

interface LexOpts {
  readonly rawQuotes: boolean;
  readonly rawEscapes: boolean;
}

/**
 * BuildKit's `Lex.ProcessWords` with an empty environment and SkipUnsetEnv (so `$X` stays `$X`), escape `\`.
 * Returns the words with the offset where each starts. Throws ShellWordError on unbalanced quotes etc.
 */
export function shellWords(text: string, opts: LexOpts): Piece[] {
  const lx = new ShellLexer(text, opts);
  return lx.words();
}

class ShellLexer {
  readonly s: string;
  readonly o: LexOpts;
  i = 0;
  constructor(s: string, o: LexOpts) {
    this.s = s;
    this.o = o;
  }

  words(): Piece[] {
    const out: Piece[] = [];
    let word = '';
    let inWord = false;
    let start = 0;
    const raw = (str: string, at: number): void => {
      if (!inWord) start = at;
      word += str;
      inWord = true;
    };
    const flush = (end: number): void => {
      if (word.length > 0) out.push({ value: word, start, end });
      word = '';
      inWord = false;
    };
    const addChar = (ch: string, at: number): void => {
      if (isSpace(ch.charCodeAt(0))) {
        if (inWord) flush(at);
      } else raw(ch, at);
    };
    const s = this.s;
    while (this.i < s.length) {
      const at = this.i;
      const ch = s[at]!;
      if (ch === "'") raw(this.singleQuote(), at);
      else if (ch === '"') raw(this.doubleQuote(), at);
      else if (ch === '$') {
        // expansions of unset variables are re-added character by character (words.addString)
        const v = this.dollar();
        for (const c of v) addChar(c, at);
      } else {
        this.i++;
        if (ch === '\\') {
          if (this.o.rawEscapes) raw('\\', at);
          if (this.i >= s.length) break;
          raw(s[this.i]!, at);
          this.i++;
        } else addChar(ch, at);
      }
    }
    flush(this.i);
    return out;
  }

  /** processStopOn(stop) used inside `${...}`: returns the processed text up to (and consuming) `stop`. */
  stopOn(stop: string, rawEscapes: boolean): string {
    const s = this.s;
    let out = '';
    while (this.i < s.length) {
      const ch = s[this.i]!;
      if (ch === stop) {
        this.i++;
        return out;
      }
      if (ch === "'") out += this.singleQuote();
      else if (ch === '"') out += this.doubleQuote();
      else if (ch === '$') out += this.dollar();
      else {
        this.i++;
        if (ch === '\\') {
          if (rawEscapes) out += '\\';
          if (this.i >= s.length) break;
          out += s[this.i]!;
          this.i++;
        } else out += ch;
      }
    }
    throw new ShellWordError(`unexpected end of statement while looking for matching ${stop}`);
  }

  singleQuote(): string {
    const s = this.s;
    let out = this.o.rawQuotes ? "'" : '';
    this.i++;
    for (;;) {
      if (this.i >= s.length) throw new ShellWordError('unexpected end of statement while looking for matching single-quote');
      const ch = s[this.i++]!;
      if (ch === "'") return this.o.rawQuotes ? out + "'" : out;
      out += ch;
    }
  }

  doubleQuote(): string {
    const s = this.s;
    let out = this.o.rawQuotes ? '"' : '';
    this.i++;
    for (;;) {
      if (this.i >= s.length) throw new ShellWordError('unexpected end of statement while looking for matching double-quote');
      const ch = s[this.i]!;
      if (ch === '"') {
        this.i++;
        return this.o.rawQuotes ? out + '"' : out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.i++;
      if (ch === '\\') {
        if (this.o.rawEscapes) out += '\\';
        const n = s[this.i];
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === '\\') {
          out += n;
          this.i++;
          continue;
        }
      }
      out += ch;
    }
  }

  /** `$...` with nothing set and SkipUnsetEnv: the text comes back as written (nested words processed). */
  dollar(): string {
    const s = this.s;
    this.i++;
    if (s[this.i] !== '{') {
      const name = this.name();
      return name === '' ? '$' : '$' + name;
    }
    this.i++;
    const first = s[this.i];
    if (first === undefined) throw new ShellWordError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellWordError('syntax error: bad substitution');
    const name = this.name();
    const ch = s[this.i++];
    if (ch === '}') return '${' + name + '}';
    let mod = ch ?? '';
    let op = ch;
    if (ch === ':') {
      op = s[this.i++];
      mod += op ?? '';
    }
    if (op === '+' || op === '-' || op === '?' || op === '#' || op === '%') {
      const rawEsc = op === '#' || op === '%';
      if (ch === ':' && rawEsc) throw new ShellWordError(`unsupported modifier (${mod}) in substitution`);
      const word = this.stopOnBrace('}', rawEsc);
      return '${' + name + mod + word + '}';
    }
    if (ch === '/') {
      if (s[this.i] === '/') this.i++;
      const pattern = this.stopOnBrace('/', true, "syntax error: missing '/' in ${}");
      const repl = this.stopOnBrace('}', true);
      return '${' + name + '/' + pattern + '/' + repl + '}';
    }
    throw new ShellWordError(`unsupported modifier (${mod}) in substitution`);
  }

  stopOnBrace(stop: string, rawEscapes: boolean, eofMessage = "syntax error: missing '}'"): string {
    try {
      return this.stopOn(stop, rawEscapes);
    } catch (e) {
      if (this.i >= this.s.length) throw new ShellWordError(eofMessage);
      throw e;
    }
  }

  name(): string {
    const s = this.s;
    const start = this.i;
    const c = s[this.i];
    if (c === undefined) return '';
    if (c >= '0' && c <= '9') {
      while (this.i < s.length && s[this.i]! >= '0' && s[this.i]! <= '9') this.i++;
      return s.slice(start, this.i);
    }
    if ('@*#?-$!0'.includes(c)) {
      this.i++;
      return c;
    }
    while (this.i < s.length && /[\p{L}\p{Nd}_]/u.test(s[this.i]!)) this.i++;
    return s.slice(start, this.i);
  }
}

const RE_HEREDOC = /^(\d*)<<(-?)([^<]*)$/;

/**
 * BuildKit's ParseHeredoc on one word: undefined when the word is not a heredoc (`<<`, `<<EOF sh`, `<EOF`),
 * a ShellWordError when the delimiter is malformed (`<<'EOF`).
 */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  const m = RE_HEREDOC.exec(word);
  if (!m) return undefined;
  const fd = m[1] === '' ? undefined : Number(m[1]);
  const chomp = m[2] === '-';
  // the `\s*` of BuildKit's `^(\d*)<<(-?)\s*([^<]*)$`, done by hand: a regex with adjacent `\s*` and
  // `[^<]*` backtracks polynomially on long runs of blanks.
  let restStart = 0;
  const rest0 = m[3]!;
  while (restStart < rest0.length && ' \t\n\f\r'.includes(rest0[restStart]!)) restStart++;
  const rest = rest0.slice(restStart);
  if (rest.length === 0) return undefined;
  const cooked = shellWords(rest, { rawQuotes: false, rawEscapes: false });
  if (cooked.length !== 1) return undefined;
  const raw = shellWords(rest, { rawQuotes: true, rawEscapes: false });
  if (raw.length !== 1) throw new ShellWordError(`internal lexing of heredoc produced inconsistent results: ${rest}`);
  const name = cooked[0]!.value;
  const quotes = (w: string): number => w.split(/['"]/).length - 1;
  const expand = quotes(name) === quotes(raw[0]!.value);
  return { name, ...(fd !== undefined && fd > 0 ? { fd } : {}), chomp, expand };
}

/** A heredoc found on a line, with the place of its `<<WORD` marker in that line. */
export interface HeredocMarker extends HeredocWord {
  readonly start: number;
  readonly end: number;
}

/**
 * BuildKit's heredocsFromLine: the heredocs a RUN/COPY/ADD line names, in order. A line the shell lexer cannot
 * split (an unbalanced quote) names none, as in BuildKit. A `<<` or `<<-` standing alone takes the next word as
 * its delimiter (`RUN <<  EOF`), matching the `\s*` in BuildKit's pattern.
 */
export function heredocsFromLine(line: string): HeredocMarker[] {
  let words: Piece[];
  try {
    words = shellWords(line, { rawQuotes: true, rawEscapes: true });
  } catch (e) {
    if (e instanceof ShellWordError) return [];
    throw e;
  }
  const out: HeredocMarker[] = [];
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const next = words[k + 1];
    if (next !== undefined && /^\d*<<-?$/.test(w.value)) {
      const joined = parseHeredocWord(w.value + ' ' + next.value);
      if (joined) {
        out.push({ ...joined, start: w.start, end: next.end });
        k++;
        continue;
      }
    }
    const h = parseHeredocWord(w.value);
    if (h) out.push({ ...h, start: w.start, end: w.end });
  }
  return out;
}
