/**
 * BuildKit's character-level splitters (frontend/dockerfile/parser/line_parsers.go, split_command.go), re-done
 * with offsets so every piece keeps its place in the logical line. These are deliberately hand-written: they are
 * BuildKit's exact quirks (quotes kept, escape at end of line dropped, a bare `--` ending the flags), which a
 * context-free grammar would only approximate.
 *
 * All offsets are 0-based UTF-16 indexes into the string given; `end` is exclusive.
 */

/** Go's unicode.IsSpace: the separator BuildKit uses for words, flags and trimming. */
export function isSpace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0x85 ||
    c === 0xa0 ||
    (c >= 0x2000 && (c <= 0x200a || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000)) ||
    c === 0x1680
  );
}

/** `[\t\v\f\r ]`: BuildKit's reWhitespace, used to split the keyword off and for FROM/EXPOSE/COPY words. */
export function isReWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0b || c === 0x0c || c === 0x0d;
}

/** A piece of a line: its value and where it sits in that line. */
export interface Piece {
  readonly value: string;
  readonly start: number;
  readonly end: number;
}

/** strings.TrimSpace bounds: [start, end) of `s` without leading/trailing unicode space. */
export function trimBounds(s: string, from = 0, to = s.length): [number, number] {
  let a = from;
  let b = to;
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  return [a, b];
}

/**
 * `parseStringsWhitespaceDelimited`: split on runs of `[\t\v\f\r ]` (FROM, EXPOSE, non-JSON COPY/ADD/VOLUME).
 * Like Go's regexp Split, a leading separator yields an empty first piece; callers pass trimmed text.
 */
export function splitWhitespace(s: string, from = 0, to = s.length): Piece[] {
  const out: Piece[] = [];
  if (from >= to) return out;
  let start = from;
  let i = from;
  while (i < to) {
    if (isReWhitespace(s.charCodeAt(i))) {
      out.push({ value: s.slice(start, i), start, end: i });
      while (i < to && isReWhitespace(s.charCodeAt(i))) i++;
      start = i;
    } else i++;
  }
  out.push({ value: s.slice(start, to), start, end: to });
  return out;
}

/**
 * BuildKit's `parseWords` (ENV, LABEL, ARG): split on unquoted whitespace, **keeping** quotes and escape
 * characters in the words; an escape token at the very end is dropped. `escape` is the directive's token.
 */
export function parseWords(s: string, escape: string, from = 0, to = s.length): Piece[] {
  const esc = escape.charCodeAt(0);
  const words: Piece[] = [];
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  let phase = IN_SPACES;
  let word = '';
  let quote = 0;
  let blankOK = false;
  let wordStart = from;
  for (let pos = from; pos <= to; pos++) {
    let ch = pos < to ? s.charCodeAt(pos) : -1;
    if (phase === IN_SPACES) {
      if (pos === to) break;
      if (isSpace(ch)) continue;
      phase = IN_WORD;
      wordStart = pos;
    }
    if (pos === to) {
      if (blankOK || word.length > 0) words.push({ value: word, start: wordStart, end: pos });
      break;
    }
    if (phase === IN_WORD) {
      if (isSpace(ch)) {
        phase = IN_SPACES;
        if (blankOK || word.length > 0) words.push({ value: word, start: wordStart, end: pos });
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
      }
      if (ch === esc) {
        if (pos + 1 === to) continue;
        word += s[pos];
        pos++;
        ch = s.charCodeAt(pos);
      }
      word += s[pos];
      continue;
    }
    // IN_QUOTE
    if (ch === quote) phase = IN_WORD;
    if (ch === esc && quote !== 0x27) {
      if (pos + 1 === to) {
        phase = IN_WORD;
        continue;
      }
      word += s[pos];
      pos++;
    }
    word += s[pos];
  }
  return words;
}

/** One builder flag word as `extractBuilderFlags` reads it. */
export interface FlagWord {
  /** Index just after the word (at a space or the end of the line). */
  readonly end: number;
  /** The word with quotes removed and `\` escapes applied, e.g. `--mount=type=cache,id=a b`. */
  readonly processed: string;
}

/**
 * Reads one flag word starting at `start` (which must be at `--`), as BuildKit's extractBuilderFlags does:
 * quotes are removed, `\` (always backslash, whatever the escape directive) escapes the next character.
 * The line ends at `\n` or `to`.
 */
export function scanFlagWord(s: string, start: number, to = s.length): FlagWord {
  let i = start;
  let word = '';
  let inQuote = false;
  let quote = 0;
  let eol = s.indexOf('\n', start);
  if (eol === -1 || eol > to) eol = to;
  while (i < eol) {
    const ch = s.charCodeAt(i);
    if (!inQuote) {
      if (isSpace(ch)) break;
      if (ch === 0x27 || ch === 0x22) {
        quote = ch;
        inQuote = true;
        i++;
        continue;
      }
    } else if (ch === quote) {
      inQuote = false;
      i++;
      continue;
    }
    if (ch === 0x5c) {
      if (i + 1 === eol) {
        inQuote = false;
        i++;
        continue;
      }
      i++;
    }
    word += s[i];
    i++;
  }
  return { end: i, processed: word };
}

/** Outcome of `decodeJsonArray`: BuildKit's parseJSON, with each string item's place in the text. */
export type JsonArrayResult =
  | { readonly kind: 'array'; readonly items: readonly Piece[]; readonly end: number }
  /** Valid JSON array holding a non-string: a hard error in BuildKit. `at` is the offending element. */
  | { readonly kind: 'not-strings'; readonly at: Piece; readonly end: number }
  /** Not a JSON array (doesn't start with `[`, or a syntax error): BuildKit falls back to the shell form. */
  | { readonly kind: 'invalid' };

const INVALID: JsonArrayResult = { kind: 'invalid' };

/**
 * BuildKit's parseJSON: left-trim, require `[`, decode ONE JSON value with Go's encoding/json Decoder (which
 * ignores anything after the value), and require every element to be a string.
 */
export function decodeJsonArray(s: string, from = 0, to = s.length): JsonArrayResult {
  let i = from;
  while (i < to && isSpace(s.charCodeAt(i))) i++;
  if (s.charCodeAt(i) !== 0x5b || i >= to) return INVALID;
  const sc = new JsonScanner(s, to);
  sc.i = i + 1;
  const items: Piece[] = [];
  let bad: Piece | undefined;
  sc.ws();
  if (sc.peek() === 0x5d) return { kind: 'array', items, end: sc.i + 1 };
  for (;;) {
    sc.ws();
    const start = sc.i;
    if (sc.peek() === 0x22) {
      const v = sc.string();
      if (v === undefined) return INVALID;
      items.push({ value: v, start, end: sc.i });
    } else {
      if (!sc.value()) return INVALID;
      bad ??= { value: s.slice(start, sc.i), start, end: sc.i };
    }
    sc.ws();
    const c = sc.peek();
    sc.i++;
    if (c === 0x2c) continue;
    if (c === 0x5d) break;
    return INVALID;
  }
  if (bad) return { kind: 'not-strings', at: bad, end: sc.i };
  return { kind: 'array', items, end: sc.i };
}

/** A strict RFC 8259 scanner (what Go's decoder accepts), bounded by `to`. */
class JsonScanner {
  i = 0;
  readonly s: string;
  readonly to: number;
  constructor(s: string, to: number) {
    this.s = s;
    this.to = to;
  }
  peek(): number {
    return this.i < this.to ? this.s.charCodeAt(this.i) : -1;
  }
  ws(): void {
    while (this.i < this.to) {
      const c = this.s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }
  value(depth = 0): boolean {
    if (depth > 10_000) return false;
    this.ws();
    const c = this.peek();
    if (c === 0x22) return this.string() !== undefined;
    if (c === 0x5b || c === 0x7b) {
      const close = c === 0x5b ? 0x5d : 0x7d;
      this.i++;
      this.ws();
      if (this.peek() === close) {
        this.i++;
        return true;
      }
      for (;;) {
        if (close === 0x7d) {
          this.ws();
          if (this.peek() !== 0x22 || this.string() === undefined) return false;
          this.ws();
          if (this.peek() !== 0x3a) return false;
          this.i++;
        }
        if (!this.value(depth + 1)) return false;
        this.ws();
        const d = this.peek();
        this.i++;
        if (d === 0x2c) continue;
        return d === close;
      }
    }
    for (const lit of ['true', 'false', 'null']) {
      if (this.s.startsWith(lit, this.i) && this.i + lit.length <= this.to) {
        this.i += lit.length;
        return true;
      }
    }
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = this.i;
    const r = m.exec(this.s);
    if (r && r[0].length > 0 && this.i + r[0].length <= this.to) {
      this.i += r[0].length;
      return true;
    }
    return false;
  }
  /** Decodes a string at `i` (which is at `"`); undefined on a syntax error. Lone surrogates become U+FFFD as in Go. */
  string(): string | undefined {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let chunk = i;
    for (;;) {
      if (i >= this.to) return undefined;
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) return undefined;
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += s.slice(chunk, i);
      const e = s[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const hex = s.slice(i, i + 4);
          if (i + 4 > this.to || !/^[0-9a-fA-F]{4}$/.test(hex)) return undefined;
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          return undefined;
      }
      chunk = i;
    }
    out += s.slice(chunk, i);
    this.i = i + 1;
    return out.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  }
}
