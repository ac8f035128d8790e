/**
 * A structural POSIX/bash parser for RUN commands: lists, and-or chains, pipelines, simple commands (assignments,
 * words, redirections), subshells, brace groups, if/for/while/until/case, function definitions, command
 * substitutions (parsed recursively) and `sh -c '...'` scripts.
 *
 * Why our own: sh-syntax (mvdan/sh in WASM) is the syntax authority (it validates every RUN and its statement
 * boundaries are cross-checked against this parser in the tests), but its JSON tree stops at statements: command
 * words are not exported. Rules need argv with exact offsets, so this parser produces them. It never throws: a
 * script it cannot follow still yields every command it could read.
 *
 * Offsets are 0-based UTF-16 indexes into the script given to {@link parseShell} (plus `base`).
 */

/** One shell word. */
export interface ShWord {
  /** The word as written (quotes and escapes kept). */
  readonly raw: string;
  /** Quote removal applied; expansions (`$X`, `$(…)`, backticks) kept as written. */
  readonly value: string;
  /** True when the word contains an expansion whose value is unknown statically. */
  readonly dynamic: boolean;
  readonly start: number;
  readonly end: number;
}

/** A redirection: `>`, `>>`, `2>&1`, `<<EOF`, ... */
export interface ShRedirect {
  readonly op: string;
  readonly target?: ShWord;
  readonly start: number;
  readonly end: number;
}

/** A simple command with its context. */
export interface ShCommand {
  /** `NAME=value` prefixes. */
  readonly assignments: readonly ShWord[];
  /** argv; `words[0]` is the command name (may be absent for a bare assignment). */
  readonly words: readonly ShWord[];
  /** Basename of argv[0] (`/usr/bin/apt-get` → `apt-get`); '' when there is none. */
  readonly name: string;
  /** argv after the name. */
  readonly args: readonly ShWord[];
  readonly redirects: readonly ShRedirect[];
  /** Which pipeline (0-based id within this parse) the command belongs to, and its length. */
  readonly pipeline: number;
  readonly pipelineLength: number;
  /** Nested inside `$(…)`, backticks, `sh -c`, a subshell or a compound command. */
  readonly nested: boolean;
  readonly start: number;
  readonly end: number;
}

export interface ShScript {
  readonly commands: readonly ShCommand[];
  /** Top-level statement ranges (for cross-checking with sh-syntax). */
  readonly statements: readonly { readonly start: number; readonly end: number }[];
  /**
   * The parser saw something malformed (unterminated quote or substitution, a missing `fi`/`done`/`)`). It still
   * returns what it read; the ShellSyntax rule asks sh-syntax for the authoritative verdict and message.
   */
  readonly suspect: boolean;
  /** Pipelines of two or more commands: their ranges (DL4006). */
  readonly pipelines: readonly { readonly start: number; readonly end: number; readonly length: number }[];
}

/**
 * A token. Every kind carries the same fields, created in the same order, so that all tokens share one hidden class
 * and the parser's property reads stay monomorphic (a union of differently shaped objects made them megamorphic).
 */
type Tok =
  | { readonly t: 'word'; readonly op: ''; readonly start: number; readonly end: number; readonly w: ShWord; readonly subs: readonly [number, number][] }
  | { readonly t: 'op' | 'redir'; readonly op: string; readonly start: number; readonly end: number; readonly w: null; readonly subs: null }
  | { readonly t: 'nl' | 'eof'; readonly op: ''; readonly start: number; readonly end: number; readonly w: null; readonly subs: null };

const opTok = (t: 'op' | 'redir', op: string, start: number, end: number): Tok => ({ t, op, start, end, w: null, subs: null });
const wordTok = (w: ShWord, subs: readonly [number, number][]): Tok => ({ t: 'word', op: '', start: w.start, end: w.end, w, subs });

/** Set while tokenizing/parsing when the script looks malformed (unterminated quote, missing `fi`, ...). */
let suspect = false;

const OP_CHARS = new Set([';', '&', '|', '(', ')']);
const RESERVED_END = new Set(['then', 'elif', 'else', 'fi', 'do', 'done', 'esac', '}', ';;']);

const REDIR_RE = /^(\d*)(<<<|<<-|<<|>>|>&|<&|>\||<>|>|<)/;

/** Code units that end a run of plain word characters: space \t \n \r ; & | ( ) < > \\ ' " $ ` */
const SPECIAL = new Uint8Array(128);
for (const ch of ' \t\n\r;&|()<>\\\'"$`') SPECIAL[ch.charCodeAt(0)] = 1;

/** Whether a UTF-16 code unit ends a run of plain word characters. */
function special(code: number): boolean {
  return code < 128 && SPECIAL[code] === 1;
}

/** Code units that end a run of literal text inside double quotes: " \\ $ ` */
function dquoteSpecial(code: number): boolean {
  return code === 34 || code === 92 || code === 36 || code === 96;
}

/** Length of a `$NAME` / `$1` / `$@`-style parameter at src[i] === '$' (0 when `$` is literal). */
function simpleParamLength(src: string, i: number): number {
  const c = src.charCodeAt(i + 1);
  // [A-Za-z_]
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95) {
    let j = i + 2;
    for (;;) {
      const d = src.charCodeAt(j);
      if ((d >= 65 && d <= 90) || (d >= 97 && d <= 122) || d === 95 || (d >= 48 && d <= 57)) j++;
      else break;
    }
    return j - i;
  }
  // [0-9@*#?$!-]
  if ((c >= 48 && c <= 57) || c === 64 || c === 42 || c === 35 || c === 63 || c === 36 || c === 33 || c === 45) return 2;
  return 0;
}

/** No command substitutions in a word (shared: most words have none). */
const NO_SUBS: readonly [number, number][] = Object.freeze([]) as readonly [number, number][];

/** Whether src[j] (a special character) ends a word: a blank, an operator, or `<`/`>` not opening `<(`/`>(`. */
function endsPlainWord(src: string, j: number): boolean {
  const c = src.charCodeAt(j);
  // space \t \n \r ; & | ( )
  if (c === 32 || c === 9 || c === 10 || c === 13 || c === 59 || c === 38 || c === 124 || c === 40 || c === 41) return true;
  // < >
  if (c === 60 || c === 62) return src.charCodeAt(j + 1) !== 40;
  return false;
}

/** Tokenizes a script. Heredoc bodies are not expected in `src` (Dockerfile heredocs are analysed separately). */
function tokenize(src: string, base: number): Tok[] {
  const toks: Tok[] = [];
  const n = src.length;
  let i = 0;
  while (i < n) {
    const cc = src.charCodeAt(i);
    // blanks (space, tab, CR) and escaped newlines
    if (cc === 32 || cc === 9 || cc === 13) {
      i++;
      continue;
    }
    if (cc === 92 && src.charCodeAt(i + 1) === 10) {
      i += 2;
      continue;
    }
    if (cc === 10) {
      toks.push({ t: 'nl', op: '', start: base + i, end: base + i + 1, w: null, subs: null });
      i++;
      continue;
    }
    if (cc === 35) {
      // a comment runs to the end of the line
      const e = src.indexOf('\n', i);
      i = e < 0 ? n : e;
      continue;
    }
    // operators: ; & | ( ) and && || ;; |& (and &> / &>> as redirections)
    if (cc === 59 || cc === 38 || cc === 124 || cc === 40 || cc === 41) {
      const c2 = src.charCodeAt(i + 1);
      if (cc === 38 && c2 === 62) {
        const three = src.charCodeAt(i + 2) === 62 ? '&>>' : '&>';
        toks.push(opTok('redir', three, base + i, base + i + three.length));
        i += three.length;
        continue;
      }
      const two = (cc === 38 && c2 === 38) || (cc === 124 && (c2 === 124 || c2 === 38)) || (cc === 59 && c2 === 59);
      const op = two ? src.slice(i, i + 2) : src[i]!;
      toks.push(opTok('op', op, base + i, base + i + op.length));
      i += op.length;
      continue;
    }
    // redirection, possibly with a leading fd number (`2>&1`); a word of digits not followed by < or > is a word
    const isDigit = cc >= 48 && cc <= 57;
    let maybeRedir = cc === 60 || cc === 62;
    if (isDigit) {
      let k = i + 1;
      while (k < n && src.charCodeAt(k) >= 48 && src.charCodeAt(k) <= 57) k++;
      maybeRedir = src.charCodeAt(k) === 60 || src.charCodeAt(k) === 62;
    }
    const redir = maybeRedir ? REDIR_RE.exec(src.slice(i, i + 8)) : null;
    if (redir && (!isDigit || redir[1] !== '')) {
      // `<(` / `>(` process substitution is a word
      const after = src[i + redir[0].length];
      if (!(redir[1] === '' && (redir[2] === '<' || redir[2] === '>') && after === '(')) {
        toks.push(opTok('redir', redir[0], base + i, base + i + redir[0].length));
        i += redir[0].length;
        continue;
      }
    }
    // Fast path, most words: plain characters up to a blank or an operator (no quotes, escapes or expansions).
    let j = i;
    while (j < n && !special(src.charCodeAt(j))) j++;
    if (j > i && (j >= n || endsPlainWord(src, j))) {
      const raw = src.slice(i, j);
      toks.push(wordTok({ raw, value: raw, dynamic: false, start: base + i, end: base + j }, NO_SUBS));
      i = j;
      continue;
    }
    const w = readWord(src, i, base);
    toks.push(wordTok(w.word, w.subs));
    i = w.next;
  }
  toks.push({ t: 'eof', op: '', start: base + n, end: base + n, w: null, subs: null });
  return toks;
}

/** Index just after the `)` that closes a `$(` / `(` opened before `i` (quote-aware), or n. */
function skipParens(src: string, i: number): number {
  let depth = 1;
  const n = src.length;
  while (i < n && depth > 0) {
    const c = src[i]!;
    if (c === '\\') i += 2;
    else if (c === "'") {
      const e = src.indexOf("'", i + 1);
      i = e < 0 ? n : e + 1;
    } else if (c === '"') i = skipDouble(src, i + 1);
    else if (c === '(') {
      depth++;
      i++;
    } else if (c === ')') {
      depth--;
      i++;
    } else i++;
  }
  if (depth > 0) suspect = true;
  return i;
}

/** Index just after the `"` closing a double-quoted string whose body starts at `i`. */
function skipDouble(src: string, i: number): number {
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === '\\') i += 2;
    else if (c === '"') return i + 1;
    else if (c === '$' && src[i + 1] === '(') i = skipParens(src, i + 2);
    else if (c === '`') {
      const e = src.indexOf('`', i + 1);
      i = e < 0 ? n : e + 1;
    } else i++;
  }
  return n;
}

/** Set by {@link dollarEnd}: the body of the `$(…)` it read (start, end), or -1 when there was none. */
let dollarSubA = -1;
let dollarSubB = -1;

/** End index of a `$…` expansion or a backtick substitution at src[i]; sets dollarSubA/B to a substitution's body. */
function expansionEnd(src: string, i: number): number {
  if (src.charCodeAt(i) !== 96) return dollarEnd(src, i);
  const e = src.indexOf('`', i + 1);
  const end = e < 0 ? src.length : e + 1;
  dollarSubA = i + 1;
  dollarSubB = Math.max(i + 1, end - 1);
  return end;
}

/** End index of the expansion at src[i] === '$' (`$(…)`, `$((…))`, `${…}`, `$NAME`, `$1`, or a literal `$`). */
function dollarEnd(src: string, i: number): number {
  dollarSubA = -1;
  const nx = src.charCodeAt(i + 1);
  if (nx === 40) {
    // $( … ) or $(( … )): only a command substitution has a script to analyse
    const arith = src.charCodeAt(i + 2) === 40;
    const e = skipParens(src, i + 2);
    if (!arith) {
      dollarSubA = i + 2;
      dollarSubB = Math.max(i + 2, e - 1);
    }
    return e;
  }
  if (nx === 123) {
    const n = src.length;
    let depth = 1;
    let j = i + 2;
    while (j < n && depth > 0) {
      const c = src.charCodeAt(j);
      if (c === 92) j++;
      else if (c === 123) depth++;
      else if (c === 125) depth--;
      j++;
    }
    return j;
  }
  const len = simpleParamLength(src, i);
  return i + (len > 0 ? len : 1);
}

function readWord(src: string, start: number, base: number): { word: ShWord; subs: readonly [number, number][]; next: number } {
  const n = src.length;
  let i = start;
  let value = '';
  let dynamic = false;
  let subs: [number, number][] | undefined;
  while (i < n) {
    if (!special(src.charCodeAt(i))) {
      let j = i + 1;
      while (j < n && !special(src.charCodeAt(j))) j++;
      value += src.slice(i, j);
      i = j;
      continue;
    }
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || OP_CHARS.has(c) || c === '<' || c === '>') {
      if ((c === '<' || c === '>') && src[i + 1] === '(') {
        const e = skipParens(src, i + 2);
        (subs ??= []).push([i + 2, Math.max(i + 2, e - 1)]);
        value += src.slice(i, e);
        dynamic = true;
        i = e;
        continue;
      }
      break;
    }
    if (c === '\\') {
      if (src[i + 1] === '\n') {
        i += 2;
        continue;
      }
      if (i + 1 < n) value += src[i + 1];
      i += 2;
    } else if (c === "'") {
      const e = src.indexOf("'", i + 1);
      if (e < 0) suspect = true;
      const end = e < 0 ? n : e;
      value += src.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < n && src.charCodeAt(i) !== 34) {
        if (!dquoteSpecial(src.charCodeAt(i))) {
          // a run of literal text
          let j = i + 1;
          while (j < n && !dquoteSpecial(src.charCodeAt(j))) j++;
          value += src.slice(i, j);
          i = j;
          continue;
        }
        const d = src[i]!;
        if (d === '\\' && i + 1 < n && '$`"\\\n'.includes(src[i + 1]!)) {
          if (src[i + 1] !== '\n') value += src[i + 1];
          i += 2;
        } else if (d === '$' || d === '`') {
          const e = expansionEnd(src, i);
          if (dollarSubA >= 0) (subs ??= []).push([dollarSubA, dollarSubB]);
          value += src.slice(i, e);
          dynamic = true;
          i = e;
        } else {
          value += d;
          i++;
        }
      }
      if (i >= n) suspect = true;
      i++;
    } else if (c === '$' && src[i + 1] === "'") {
      // ANSI-C quoting: taken literally here (escapes are rare in package names)
      const e = src.indexOf("'", i + 2);
      const end = e < 0 ? n : e;
      value += src.slice(i + 2, end);
      i = end + 1;
    } else if (c === '$' || c === '`') {
      const e = expansionEnd(src, i);
      if (dollarSubA >= 0) (subs ??= []).push([dollarSubA, dollarSubB]);
      value += src.slice(i, e);
      dynamic = true;
      i = e;
    } else {
      value += c;
      i++;
    }
  }
  i = Math.min(i, n);
  return { word: { raw: src.slice(start, i), value, dynamic, start: base + start, end: base + i }, subs: subs ?? NO_SUBS, next: i };
}

const ASSIGN_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=/;

class Parser {
  private p = 0;
  readonly commands: ShCommand[] = [];
  readonly pipelines: { start: number; end: number; length: number }[] = [];
  readonly statements: { start: number; end: number }[] = [];
  private pipelineId = 0;
  private depth = 0;
  private readonly toks: Tok[];
  /** Index of the end-of-input token. */
  private readonly last: number;
  private readonly src: string;
  private readonly base: number;
  private readonly nestedAll: boolean;
  private readonly level: number;

  constructor(toks: Tok[], src: string, base: number, nested: boolean, level: number) {
    this.toks = toks;
    this.last = toks.length - 1;
    this.src = src;
    this.base = base;
    this.nestedAll = nested;
    this.level = level;
  }

  /** The current token; the end-of-input token once past it (recovery can step beyond the end). */
  private peek(): Tok {
    return this.toks[this.p < this.last ? this.p : this.last]!;
  }

  /** The token `k` after the current one, if there is one. */
  private ahead(k: number): Tok | undefined {
    return this.p + k <= this.last ? this.toks[this.p + k] : undefined;
  }
  private isWord(v: string): boolean {
    const t = this.peek();
    return t.t === 'word' && t.w.raw === v;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.op === v;
  }
  private skipNewlines(): void {
    while (this.peek().t === 'nl' || this.isOp(';')) this.p++;
  }

  /** list until EOF or a reserved terminator word/`)`. */
  parseList(top: boolean): void {
    for (;;) {
      this.skipNewlines();
      const t = this.peek();
      if (t.t === 'eof') return;
      if (t.t === 'op' && (t.op === ')' || t.op === ';;')) {
        if (top) {
          suspect = true;
          this.p++;
          continue;
        }
        return;
      }
      // (reserved words are at most 5 characters: skip the set lookup, which hashes the string, for longer words)
      if (t.t === 'word' && t.w.raw.length <= 5 && RESERVED_END.has(t.w.raw)) {
        if (top) {
          suspect = true;
          this.p++;
          continue;
        }
        return;
      }
      const before = this.p;
      const start = t.start;
      this.parseAndOr();
      if (top) this.statements.push({ start, end: this.lastEnd() });
      const sep = this.peek();
      if (sep.t === 'op' && (sep.op === ';' || sep.op === '&')) this.p++;
      else if (sep.t === 'nl') this.p++;
      if (this.p === before) this.p++; // no progress: skip the token
    }
  }

  private lastEnd(): number {
    return this.toks[Math.min(Math.max(0, this.p - 1), this.last)]!.end;
  }

  private parseAndOr(): void {
    this.parsePipeline();
    while (this.isOp('&&') || this.isOp('||')) {
      this.p++;
      while (this.peek().t === 'nl') this.p++;
      this.parsePipeline();
    }
  }

  private parsePipeline(): void {
    if (this.isWord('!')) this.p++;
    const id = this.pipelineId++;
    const first = this.commands.length;
    const start = this.peek().start;
    let length = 1;
    this.parseCommand(id);
    while (this.isOp('|') || this.isOp('|&')) {
      this.p++;
      while (this.peek().t === 'nl') this.p++;
      length++;
      this.parseCommand(id);
    }
    if (length > 1) {
      this.pipelines.push({ start, end: this.lastEnd(), length });
      for (let k = first; k < this.commands.length; k++) {
        const c = this.commands[k]!;
        if (c.pipeline === id) this.commands[k] = { ...c, pipelineLength: length };
      }
    }
  }

  private nestedBlock(fn: () => void): void {
    this.depth++;
    fn();
    this.depth--;
  }

  private expectWord(w: string): void {
    if (this.isWord(w)) this.p++;
    else suspect = true;
  }

  private parseCommand(id: number): void {
    const t = this.peek();
    if (t.t === 'op' && t.op === '(') {
      this.p++;
      this.nestedBlock(() => this.parseList(false));
      if (this.isOp(')')) this.p++;
      else suspect = true;
      this.parseTrailingRedirects();
      return;
    }
    if (t.t === 'word') {
      switch (t.w.raw) {
        case '{':
          this.p++;
          this.nestedBlock(() => this.parseList(false));
          this.expectWord('}');
          this.parseTrailingRedirects();
          return;
        case 'if':
          this.p++;
          this.nestedBlock(() => {
            this.parseList(false);
            this.expectWord('then');
            this.parseList(false);
            while (this.isWord('elif')) {
              this.p++;
              this.parseList(false);
              this.expectWord('then');
              this.parseList(false);
            }
            if (this.isWord('else')) {
              this.p++;
              this.parseList(false);
            }
          });
          this.expectWord('fi');
          this.parseTrailingRedirects();
          return;
        case 'for':
        case 'select':
          this.p++;
          if (this.isOp('(')) {
            // for (( ... ))
            while (!(this.peek().t === 'eof') && !this.isWord('do')) this.p++;
          } else {
            if (this.peek().t === 'word') this.p++;
            while (this.peek().t === 'nl') this.p++;
            if (this.isWord('in')) {
              this.p++;
              while (this.peek().t === 'word') this.p++;
            }
          }
          this.skipNewlines();
          this.expectWord('do');
          this.nestedBlock(() => this.parseList(false));
          this.expectWord('done');
          this.parseTrailingRedirects();
          return;
        case 'while':
        case 'until':
          this.p++;
          this.nestedBlock(() => {
            this.parseList(false);
            this.expectWord('do');
            this.parseList(false);
          });
          this.expectWord('done');
          this.parseTrailingRedirects();
          return;
        case 'case':
          this.p++;
          if (this.peek().t === 'word') this.p++;
          while (this.peek().t === 'nl') this.p++;
          this.expectWord('in');
          this.nestedBlock(() => {
            for (;;) {
              while (this.peek().t === 'nl') this.p++;
              const k = this.peek();
              if (k.t === 'eof' || this.isWord('esac')) break;
              // pattern list up to `)`
              if (this.isOp('(')) this.p++;
              while (this.peek().t !== 'eof' && !this.isOp(')')) this.p++;
              if (this.isOp(')')) this.p++;
              this.parseList(false);
              if (this.isOp(';;')) this.p++;
              else if (!this.isWord('esac')) this.p++;
            }
          });
          this.expectWord('esac');
          this.parseTrailingRedirects();
          return;
        default:
          break;
      }
      // function definition: name ( ) compound
      const n1 = this.ahead(1);
      const n2 = this.ahead(2);
      if (n1?.t === 'op' && n1.op === '(' && n2?.t === 'op' && n2.op === ')') {
        this.p += 3;
        while (this.peek().t === 'nl') this.p++;
        this.nestedBlock(() => this.parseCommand(id));
        return;
      }
      if (t.w.raw === 'function') {
        this.p += 2;
        if (this.isOp('(')) this.p += 2;
        while (this.peek().t === 'nl') this.p++;
        this.nestedBlock(() => this.parseCommand(id));
        return;
      }
    }
    this.parseSimple(id);
  }

  private parseTrailingRedirects(): void {
    while (this.peek().t === 'redir') {
      this.p++;
      if (this.peek().t === 'word') this.p++;
    }
  }

  private parseSimple(id: number): void {
    const assignments: ShWord[] = [];
    const words: ShWord[] = [];
    const redirects: ShRedirect[] = [];
    const subs: [number, number][] = [];
    const start = this.peek().start;
    let end = start;
    for (;;) {
      const t = this.peek();
      if (t.t === 'word') {
        if (words.length === 0 && t.w.raw.includes('=') && ASSIGN_RE.test(t.w.raw)) assignments.push(t.w);
        else words.push(t.w);
        if (t.subs.length > 0) subs.push(...t.subs);
        end = t.w.end;
        this.p++;
      } else if (t.t === 'redir') {
        this.p++;
        const target = this.peek();
        if (target.t === 'word') {
          redirects.push({ op: t.op, target: target.w, start: t.start, end: target.w.end });
          if (target.subs.length > 0) subs.push(...target.subs);
          end = target.w.end;
          this.p++;
        } else {
          redirects.push({ op: t.op, start: t.start, end: t.end });
          end = t.end;
        }
      } else break;
    }
    const name = words[0] ? basename(words[0].value) : '';
    if (words.length > 0 || assignments.length > 0 || redirects.length > 0) {
      this.commands.push({
        assignments,
        words,
        name,
        args: words.slice(1),
        redirects,
        pipeline: id,
        pipelineLength: 1,
        nested: this.nestedAll || this.depth > 0,
        start,
        end,
      });
    }
    // command substitutions and `sh -c` scripts: parse their insides too (bounded nesting)
    if (this.level < 4) {
      for (const [a, b] of subs) this.nested(this.src.slice(a - this.base, b - this.base), a);
      if ((name === 'sh' || name === 'bash' || name === 'dash' || name === 'ash') && words.length >= 3) {
        const ci = words.findIndex((w, k) => k > 0 && /^-[a-z]*c[a-z]*$/.test(w.value));
        const script = ci > 0 ? words[ci + 1] : undefined;
        if (script && !script.dynamic) {
          // offsets are exact when the script is quoted without escapes (the usual case)
          const q = script.raw[0] === "'" || script.raw[0] === '"' ? 1 : 0;
          this.nested(script.value, script.start + q);
        }
      }
    }
  }

  private nested(text: string, base: number): void {
    const sub = new Parser(tokenize(text, base), text, base, true, this.level + 1);
    sub.pipelineId = this.pipelineId + 1000 * (this.level + 1);
    sub.parseList(true);
    this.commands.push(...sub.commands);
    this.pipelines.push(...sub.pipelines);
  }
}

/** `/usr/bin/apt-get` → `apt-get`. */
export function basename(cmd: string): string {
  const k = cmd.lastIndexOf('/');
  return k < 0 ? cmd : cmd.slice(k + 1);
}

/** Parses a shell script; `base` is added to every offset (so offsets can point into a larger text). */
export function parseShell(script: string, base = 0): ShScript {
  suspect = false;
  const parser = new Parser(tokenize(script, base), script, base, false, 0);
  parser.parseList(true);
  // Commands come out in source order except those of substitutions and `sh -c` scripts, appended after their
  // command: sort only when one is out of place.
  const commands = parser.commands;
  for (let k = 1; k < commands.length; k++) {
    if (commands[k]!.start < commands[k - 1]!.start) {
      commands.sort((a, b) => a.start - b.start);
      break;
    }
  }
  return { commands, statements: parser.statements, pipelines: parser.pipelines, suspect };
}

/** The command name of a simple command (basename of argv[0]), skipping wrappers such as `sudo`-less `env`. */
export function commandName(c: ShCommand): string | undefined {
  const w = c.words[0];
  return w === undefined ? undefined : basename(w.value);
}
